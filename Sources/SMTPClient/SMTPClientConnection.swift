import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SMTPCore

/// One client connection to an SMTP server: send lines and text, read replies, each read with
/// a deadline (RFC 5321 §4.5.3.2). Used by one task at a time.
public final class SMTPClientConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<SMTPReplyHandler>
    /// The address connected to, `ip:port` (`[ip]:port` for IPv6).
    public let remote: String

    /// - Parameters:
    ///   - address: an IP address (text).
    ///   - port: TCP port.
    ///   - timeout: for the TCP connection.
    /// - Throws: `SMTPClientError` (`.connectFailed`).
    public static func connect(
        address: String, port: Int, group: any EventLoopGroup, timeout: TimeAmount
    ) async throws(SMTPClientError) -> SMTPClientConnection {
        let remote = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler(remote: remote))
                    }
                }
                .connect(host: address, port: port)
                .get()
            let handler = try await channel.eventLoop.submit {
                try NIOLoopBound(channel.pipeline.syncOperations.handler(type: SMTPReplyHandler.self), eventLoop: channel.eventLoop)
            }.get()
            return SMTPClientConnection(channel: channel, handler: handler, remote: remote)
        } catch {
            throw SMTPClientError(.connectFailed, "connect to \(remote): \(Self.reason(error))")
        }
    }

    /// A connection failure in the words of strerror(3), not NIO's type dump.
    static func reason(_ error: any Error) -> String {
        if let failure = error as? NIOConnectionError {
            return failure.connectionErrors.first.map { reason($0.error) } ?? "no address to connect to"
        }
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)) }
        if case ChannelError.connectTimeout = error { return "connection timed out" }
        return "\(error)"
    }

    private init(channel: any Channel, handler: NIOLoopBound<SMTPReplyHandler>, remote: String) {
        self.channel = channel
        self.handler = handler
        self.remote = remote
    }

    /// Sends one command line (CRLF is added).
    /// - Parameter timeout: how long the write may take before the connection is given up.
    public func send(_ line: String, timeout: Duration = .seconds(300)) async throws(SMTPClientError) {
        try await write(ByteBuffer(string: line + "\r\n"), timeout: timeout)
    }

    /// Sends raw bytes. Every reply to what was sent before must have been read: a reply that
    /// arrived unasked (injected before it was due) ends the conversation, since replies would
    /// otherwise be matched to the wrong commands.
    /// - Parameter timeout: how long the write may take (a server that stops reading).
    public func write(_ bytes: ByteBuffer, timeout: Duration = .seconds(300)) async throws(SMTPClientError) {
        let channel = channel
        let handler = handler
        let remote = remote
        let timedOut = NIOLockedValueBox(false)
        let future = channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            guard handler.value.unreadReplies == 0 else {
                channel.close(promise: nil)
                return channel.eventLoop.makeFailedFuture(
                    SMTPClientError(.protocolViolation, "\(remote) sent a reply before it was due"))
            }
            let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
            let written = channel.writeAndFlush(bytes)
            written.whenComplete { _ in timer.cancel() }
            return written
        }
        do {
            try await future.get()
        } catch let error as SMTPClientError {
            throw error
        } catch {
            if timedOut.withLockedValue({ $0 }) {
                throw SMTPClientError(.timeout, "timeout writing to \(remote)")
            }
            throw SMTPClientError(.connectionClosed, "write to \(remote) failed: \(error)")
        }
    }

    /// Writes `bytes` (a pipelined group of commands, RFC 2920) and reads `count` replies, all in
    /// one trip to the event loop. Every earlier reply must have been read (see `write`).
    /// - Parameter timeout: for the whole exchange.
    /// - Returns: the replies in order.
    public func exchange(_ bytes: ByteBuffer, replies count: Int, timeout: Duration) async throws(SMTPClientError)
        -> [SMTPReply]
    {
        let read = await replies(count, after: bytes, timeout: timeout)
        if let error = read.error { throw error }
        return read.replies
    }

    /// Like `exchange`, but when the exchange fails the replies read before the failure are kept:
    /// in a group that ends one transaction and starts the next, the first reply settles the
    /// earlier message even if the connection dies after it.
    public func exchangeKeepingReplies(_ bytes: ByteBuffer, replies count: Int, timeout: Duration) async
        -> (replies: [SMTPReply], error: SMTPClientError?)
    {
        await replies(count, after: bytes, timeout: timeout)
    }

    /// Reads the next reply. - Throws: `.timeout`, `.connectionClosed` or `.protocolViolation`.
    public func reply(timeout: Duration) async throws(SMTPClientError) -> SMTPReply {
        let read = await replies(1, after: nil, timeout: timeout)
        if let error = read.error { throw error }
        return read.replies[0]
    }

    /// Optionally writes, then waits for `count` replies; a timer closes the channel if they do
    /// not all come in time, which fails the wait.
    /// - Returns: all `count` replies, or those read before the error.
    private func replies(_ count: Int, after bytes: ByteBuffer?, timeout: Duration) async
        -> (replies: [SMTPReply], error: SMTPClientError?)
    {
        let channel = channel
        let handler = handler
        let remote = remote
        let timedOut = NIOLockedValueBox(false)
        let future = channel.eventLoop.flatSubmit { () -> EventLoopFuture<[SMTPReply]> in
            let loop = channel.eventLoop
            if let bytes {
                guard handler.value.unreadReplies == 0 else {
                    channel.close(promise: nil)
                    return loop.makeFailedFuture(SMTPClientError(.protocolViolation, "\(remote) sent a reply before it was due"))
                }
                channel.writeAndFlush(bytes, promise: nil)
            }
            let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
            let all = handler.value.replies(count, on: loop)
            all.whenComplete { _ in timer.cancel() }
            return all
        }
        do {
            return (try await future.get(), nil)
        } catch {
            let partial = error as? RepliesCutShort
            let cause = partial?.error ?? error
            let failure: SMTPClientError =
                if timedOut.withLockedValue({ $0 }) {
                    SMTPClientError(.timeout, "timeout waiting for a reply from \(remote)")
                } else if let cause = cause as? SMTPClientError {
                    cause
                } else {
                    SMTPClientError(.connectionClosed, "connection to \(remote) failed: \(cause)")
                }
            return (partial?.replies ?? [], failure)
        }
    }

    /// Starts TLS: `install` puts a client TLS handler in front of the pipeline; anything the
    /// server sent before is discarded, and this returns once the handshake is done.
    /// - Throws: `.protocolViolation` with the TLS reason (certificate verification included),
    ///   `.timeout`, or `.connectionClosed`.
    public func startTLS(install: @escaping @Sendable (any Channel) throws -> Void, timeout: Duration)
        async throws(SMTPClientError)
    {
        let channel = channel
        let handler = handler
        let remote = remote
        let timedOut = NIOLockedValueBox(false)
        let future = channel.eventLoop.flatSubmit { () -> EventLoopFuture<Void> in
            let loop = channel.eventLoop
            let done = handler.value.awaitHandshake(on: loop)
            do {
                try install(channel)
            } catch {
                return loop.makeFailedFuture(SMTPClientError(.tlsFailed, "cannot start TLS with \(remote): \(error)"))
            }
            let timer = loop.scheduleTask(in: TimeAmount(timeout)) {
                timedOut.withLockedValue { $0 = true }
                channel.close(promise: nil)
            }
            done.whenComplete { _ in timer.cancel() }
            return done
        }
        do {
            try await future.get()
        } catch {
            if timedOut.withLockedValue({ $0 }) {
                throw SMTPClientError(.timeout, "timeout in the TLS handshake with \(remote)")
            }
            if let error = error as? SMTPClientError { throw SMTPClientError(.tlsFailed, error.reason) }
            throw SMTPClientError(.tlsFailed, "TLS with \(remote) failed: \(error)")
        }
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.close()
    }

    /// True while the TCP connection is open.
    public var isActive: Bool { channel.isActive }
}
