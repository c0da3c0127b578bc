internal import COpenSSL
#if canImport(Glibc)
import Glibc
#endif

/// A TLS failure with OpenSSL's own words, drained from its per-thread error queue.
public struct TLSError: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    /// `context` and, in plain words, the first reason on OpenSSL's error queue — the root
    /// cause ("No such file or directory", "no start line", "key values mismatch"), not the
    /// stack of library codes behind it; the queue is emptied.
    static func drained(_ context: String) -> TLSError {
        var first: String?
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            if first == nil {
                first = ERR_reason_error_string(code).map { String(cString: $0) } ?? "OpenSSL error \(String(code, radix: 16))"
            }
        }
        return TLSError(first.map { "\(context): \($0)" } ?? context)
    }

    /// Why `path` cannot be read by this process, in plain words, or nil when it can: so that a
    /// certificate the relay user may not read says so with its owner and mode.
    static func unreadable(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        if descriptor >= 0 {
            close(descriptor)
            return nil
        }
        let reason = String(cString: strerror(errno))
        guard errno == EACCES else { return reason }
        var info = stat()
        guard stat(path, &info) == 0 else { return reason }
        let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "\(info.st_uid)"
        let me = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())"
        return "\(reason) (owner \(owner), mode \(String(info.st_mode & 0o7777, radix: 8)); relayd runs as \(me))"
    }

    public var description: String { reason }
}
