import CRelayShims
import Foundation
import Logging

/// Serves the control socket on a thread of its own: requests are small and rare, and a plain
/// accept loop lets the server check each peer's uid with SO_PEERCRED (root or the daemon's
/// own user only). A malformed, oversized or half-sent request gets an error or a close, never
/// a crash, and a slow client cannot hold it for more than a few seconds.
public final class ControlServer: @unchecked Sendable {
    /// Answers one request from a peer whose uid SO_PEERCRED gave (logged with operator actions).
    public typealias Handler = @Sendable (ControlRequest, _ peerUID: UInt32) -> ControlResponse

    private let path: String
    private let handler: Handler
    private let logger: Logger
    // Set in start(), read by the accept thread and stop(): guarded by the single assignment
    // before the thread starts; @unchecked Sendable rests on that.
    private var listenFD: Int32 = -1
    private let stopped = NSLock()
    private var isStopped = false

    /// - Parameters:
    ///   - path: the socket path (`<run_dir>/control.sock`); a stale socket there is replaced.
    ///   - handler: answers one request; called on the server's thread.
    public init(path: String, logger: Logger, handler: @escaping Handler) {
        self.path = path
        self.logger = logger
        self.handler = handler
    }

    /// Binds the socket (mode 0660) and starts serving. - Throws: when it cannot bind.
    public func start() throws {
        let directory = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var info = stat()
        if lstat(path, &info) == 0 {
            guard info.st_mode & S_IFMT == S_IFSOCK else {
                throw ControlError(code: "failed", message: "\(path) exists and is not a socket")
            }
            unlink(path)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError(code: "failed", message: "socket: \(String(cString: strerror(errno)))") }
        guard let address = UnixSocketAddress(path: path) else {
            close(fd)
            throw ControlError(code: "failed", message: "control socket path too long: \(path)")
        }
        let previousMask = umask(0o117)  // the socket is created 0660
        let bound = address.withSocketAddress { bind(fd, $0, $1) }
        umask(previousMask)
        guard bound == 0, listen(fd, 64) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ControlError(code: "failed", message: "cannot listen on \(path): \(reason)")
        }
        listenFD = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "control"
        thread.start()
    }

    /// Stops serving and removes the socket.
    public func stop() {
        stopped.lock()
        isStopped = true
        stopped.unlock()
        shutdown(listenFD, Int32(SHUT_RDWR))
        close(listenFD)
        unlink(path)
    }

    private var shouldStop: Bool {
        stopped.lock()
        defer { stopped.unlock() }
        return isStopped
    }

    private func acceptLoop() {
        while !shouldStop {
            let client = accept(listenFD, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if !shouldStop { logger.error("control socket accept failed", metadata: ["reason": "\(String(cString: strerror(errno)))"]) }
                return
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            serve(client)
            close(client)
        }
    }

    private func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var uid: uid_t = 0
        guard CRelayShims_peer_uid(client, &uid) == 0, uid == 0 || uid == getuid() else {
            logger.warning("control request refused", metadata: ["uid": "\(uid)"])
            respond(client, .failure("forbidden", "only root or uid \(getuid()) may use the control socket"))
            return
        }
        while let line = readLine(client) {
            respond(client, answer(line, peerUID: uid))
        }
    }

    private func answer(_ line: [UInt8], peerUID: uid_t) -> ControlResponse {
        switch ControlProtocol.decodeRequest(line) {
        case .success(let request): return handler(request, UInt32(peerUID))
        case .failure(let error): return ControlResponse(version: ControlProtocol.version, ok: false, result: nil, error: error)
        }
    }

    /// Reads one line. - Returns: nil at end of input, on error, or after refusing an oversized
    /// line (the connection then ends).
    private func readLine(_ client: Int32) -> [UInt8]? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(client, &byte, 1)
            if count <= 0 { return nil }
            if byte == UInt8(ascii: "\n") { return line }
            line.append(byte)
            if line.count > ControlProtocol.maximumLineLength {
                respond(client, .failure("bad_request", "request longer than \(ControlProtocol.maximumLineLength) octets"))
                return nil
            }
        }
    }

    private func respond(_ client: Int32, _ response: ControlResponse) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard var data = try? encoder.encode(response) else { return }
        data.append(UInt8(ascii: "\n"))
        // MSG_NOSIGNAL: a client that left before its answer must not kill the process (SIGPIPE).
        _ = data.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
