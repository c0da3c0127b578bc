import Foundation

/// Sends one request to the control socket and reads the response (blocking, with a timeout).
public struct ControlClient: Sendable {
    public let path: String
    public var timeout: Int

    public init(path: String, timeout: Int = 10) {
        self.path = path
        self.timeout = timeout
    }

    /// - Throws: `ControlError` with code `unavailable` when nothing listens there, or
    ///   `bad_request` for an unreadable response.
    public func send(_ request: ControlRequest) throws(ControlError) -> ControlResponse {
        var info = stat()
        if lstat(path, &info) == 0, info.st_mode & S_IFMT != S_IFSOCK {
            throw ControlError(code: "unavailable", message: "\(path) is not a socket")
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(code: "unavailable", message: "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var time = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        guard let address = UnixSocketAddress(path: path) else {
            throw ControlError(code: "unavailable", message: "control socket path too long: \(path)")
        }
        let connected = address.withSocketAddress { connect(fd, $0, $1) }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            // EACCES: the socket is there (0660), this user may not use it; not "not running".
            if errno == EACCES || errno == EPERM {
                throw ControlError(code: "forbidden", message: "only root or the relay's user may use \(path) (\(reason))")
            }
            throw ControlError(code: "unavailable", message: "the worker is not running (\(path): \(reason))")
        }
        guard var data = try? JSONEncoder().encode(request) else {
            throw ControlError(code: "bad_request", message: "cannot encode the request")
        }
        data.append(UInt8(ascii: "\n"))
        // MSG_NOSIGNAL: a server that closed is an error to report, not a SIGPIPE (the listener's
        // kicks come through here).
        let written = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == data.count else {
            throw ControlError(code: "unavailable", message: "cannot write to \(path): \(String(cString: strerror(errno)))")
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !response.contains(UInt8(ascii: "\n")) {
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { break }
            response += chunk[..<count]
        }
        guard let end = response.firstIndex(of: UInt8(ascii: "\n")),
            let decoded = ControlProtocol.decodeResponse(Array(response[..<end]))
        else { throw ControlError(code: "bad_request", message: "no valid response from \(path)") }
        return decoded
    }
}
