internal import CAres
internal import CRelayShims
import Foundation
import Synchronization

/// An asynchronous DNS client over the system's c-ares. One thread owns the c-ares channel
/// (not thread-safe in c-ares 1.18) and waits in poll(2) on its sockets and a wake-up pipe, so
/// no event loop ever blocks on DNS. Answers are parsed by `DNSMessage` (c-ares's own parsers
/// drop TTLs) and cached by TTL, negative answers included (RFC 2308).
public final class DNSResolver: Sendable {
    public struct Configuration: Sendable {
        /// `ip` or `ip:port` or `[ipv6]:port`; empty = the servers of /etc/resolv.conf.
        public var servers: [String]
        public var timeout: Duration
        public var tries: Int

        public init(servers: [String] = [], timeout: Duration = .seconds(5), tries: Int = 2) {
            self.servers = servers
            self.timeout = timeout
            self.tries = tries
        }
    }

    private let engine: AresEngine
    private let cache = DNSCache()

    /// - Throws: `DNSError` when c-ares cannot start or the servers are invalid.
    public init(configuration: Configuration) throws(DNSError) {
        engine = try AresEngine(configuration: configuration)
    }

    deinit {
        engine.stop()
    }

    /// Looks up `name`'s records of `type`.
    /// - Returns: the parsed answer, including NXDOMAIN and NODATA answers (look at
    ///   `responseCode` and `answers`).
    /// - Throws: `DNSError` for failures without a usable answer.
    public func query(_ name: String, _ type: DNSRecordType) async throws(DNSError) -> DNSMessage {
        let key = DNSCache.Key(name: DNSMessage.canonical(name), type: type)
        if let cached = cache.lookup(key) { return cached }
        let result = await withCheckedContinuation { continuation in
            engine.submit(name: key.name, type: type) { continuation.resume(returning: $0) }
        }
        let message = try result.get()
        cache.store(key, message)
        return message
    }
}

/// Owns the c-ares channel and its thread.
private final class AresEngine: @unchecked Sendable {
    typealias Completion = @Sendable (Result<DNSMessage, DNSError>) -> Void

    private struct Pending {
        var name: String
        var type: DNSRecordType
        var completion: Completion
    }

    // Touched only on the resolver thread (after init): @unchecked Sendable rests on that.
    private var channel: ares_channel?
    private let pending = Mutex<(queries: [Pending], stopped: Bool)>(([], false))
    private let wakeRead: Int32
    private let wakeWrite: Int32

    private static let libraryInitialized: Bool = ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS

    init(configuration: DNSResolver.Configuration) throws(DNSError) {
        guard Self.libraryInitialized else { throw DNSError(.serverFailure, "c-ares could not be initialised") }
        let milliseconds = Int32(configuration.timeout.components.seconds * 1000
            + configuration.timeout.components.attoseconds / 1_000_000_000_000_000)
        var channel: ares_channel?
        let status = CAresShims_init(&channel, max(1, milliseconds), Int32(max(1, configuration.tries)))
        guard status == ARES_SUCCESS, let channel else {
            throw DNSError(.serverFailure, "c-ares: \(String(cString: ares_strerror(status)))")
        }
        if !configuration.servers.isEmpty {
            let status = ares_set_servers_ports_csv(channel, configuration.servers.joined(separator: ","))
            guard status == ARES_SUCCESS else {
                ares_destroy(channel)
                throw DNSError(.serverFailure, "bad DNS servers \(configuration.servers): \(String(cString: ares_strerror(status)))")
            }
        }
        self.channel = channel
        var fds: [Int32] = [0, 0]
        guard CRelayShims_pipe_nonblocking(&fds) == 0 else {
            ares_destroy(channel)
            throw DNSError(.serverFailure, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        wakeRead = fds[0]
        wakeWrite = fds[1]
        let thread = Thread { [self] in run() }
        thread.name = "dns-resolver"
        thread.start()
    }

    func submit(name: String, type: DNSRecordType, completion: @escaping Completion) {
        let accepted = pending.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.queries.append(Pending(name: name, type: type, completion: completion))
            return true
        }
        guard accepted else {
            completion(.failure(DNSError(.serverFailure, "resolver stopped")))
            return
        }
        wake()
    }

    func stop() {
        pending.withLock { $0.stopped = true }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    private func run() {
        var sockets = [ares_socket_t](repeating: CAresShims_socket_bad(), count: Int(ARES_GETSOCK_MAXNUM))
        while true {
            let (queries, stopped) = pending.withLock { state in
                defer { state.queries.removeAll() }
                return (state.queries, state.stopped)
            }
            if stopped { break }
            for query in queries { start(query) }
            let bits = ares_getsock(channel, &sockets, ARES_GETSOCK_MAXNUM)
            var polled = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            for index in 0..<Int(ARES_GETSOCK_MAXNUM) {
                var events: Int16 = 0
                if CAresShims_getsock_readable(bits, Int32(index)) != 0 { events |= Int16(POLLIN) }
                if CAresShims_getsock_writable(bits, Int32(index)) != 0 { events |= Int16(POLLOUT) }
                if events != 0 { polled.append(pollfd(fd: sockets[index], events: events, revents: 0)) }
            }
            var timeout = -1
            var limit = timeval()
            if let next = ares_timeout(channel, nil, &limit) {
                timeout = Int(next.pointee.tv_sec) * 1000 + Int(next.pointee.tv_usec) / 1000 + 1
            }
            let ready = poll(&polled, nfds_t(polled.count), Int32(timeout))
            if ready < 0 && errno == EINTR { continue }
            if polled[0].revents != 0 {
                var drain = [UInt8](repeating: 0, count: 64)
                while read(wakeRead, &drain, drain.count) > 0 {}
            }
            var processed = false
            for entry in polled.dropFirst() where entry.revents != 0 {
                let readable = entry.revents & Int16(POLLIN | POLLERR | POLLHUP) != 0
                let writable = entry.revents & Int16(POLLOUT) != 0
                ares_process_fd(
                    channel, readable ? entry.fd : CAresShims_socket_bad(), writable ? entry.fd : CAresShims_socket_bad())
                processed = true
            }
            if !processed {
                // Lets c-ares notice timeouts and retry or fail the queries.
                ares_process_fd(channel, CAresShims_socket_bad(), CAresShims_socket_bad())
            }
        }
        ares_destroy(channel)  // fails the queries still open, calling their callbacks
        channel = nil
        close(wakeRead)
        close(wakeWrite)
    }

    private func start(_ query: Pending) {
        let box = Unmanaged.passRetained(CompletionBox(query.completion)).toOpaque()
        ares_query(channel, query.name, Int32(1) /* C_IN */, Int32(query.type.rawValue), { argument, status, _, answer, length in
            // Invariant: the argument is the box passed retained above, released exactly once here.
            let box = Unmanaged<CompletionBox>.fromOpaque(argument!).takeRetainedValue()
            if let answer, length > 0 {
                // NXDOMAIN and NODATA come with the answer, which holds the SOA TTL for caching.
                let bytes = Array(UnsafeBufferPointer(start: answer, count: Int(length)))
                do {
                    box.completion(.success(try DNSMessage(parsing: bytes)))
                } catch {
                    box.completion(.failure(DNSError(.malformed, "malformed DNS answer: \(error)")))
                }
                return
            }
            let text = String(cString: ares_strerror(status))
            switch status {
            case ARES_ENOTFOUND:
                box.completion(.failure(DNSError(.nameNotFound, text)))
            case ARES_EBADRESP, ARES_EFORMERR:
                box.completion(.failure(DNSError(.malformed, text)))
            default:
                box.completion(.failure(DNSError(.serverFailure, text)))
            }
        }, box)
    }
}

private final class CompletionBox {
    let completion: AresEngine.Completion
    init(_ completion: @escaping AresEngine.Completion) { self.completion = completion }
}
