import NIOCore
import NIOPosix
import SMTPCore

/// One client connection to an SMTP server: send lines and text, read replies, each with a
/// deadline (RFC 5321 §4.5.3.2). Used by one task at a time.
public final class SMTPClientConnection: Sendable {
    private let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
    private let replies: Replies
    /// The address connected to, `ip:port`.
    public let remote: String

    /// - Parameters:
    ///   - address: an IP address (text).
    ///   - port: TCP port.
    ///   - timeout: for the TCP connection.
    /// - Throws: `SMTPClientError` (`.connectFailed`).
    public static func connect(
        address: String, port: Int, group: any EventLoopGroup, timeout: TimeAmount
    ) async throws(SMTPClientError) -> SMTPClientConnection {
        do {
            let channel = try await ClientBootstrap(group: group)
                .connectTimeout(timeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connect(host: address, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPReplyHandler()))
                        return try NIOAsyncChannel<SMTPReply, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            let remote = address.contains(":") ? "[\(address)]:\(port)" : "\(address):\(port)"
            return SMTPClientConnection(channel: channel, remote: remote)
        } catch {
            throw SMTPClientError(.connectFailed, "connect to \(address):\(port): \(error)")
        }
    }

    private init(channel: NIOAsyncChannel<SMTPReply, ByteBuffer>, remote: String) {
        self.channel = channel
        self.remote = remote
        self.replies = Replies(channel: channel)
    }

    /// Sends one command line (CRLF is added).
    public func send(_ line: String) async throws(SMTPClientError) {
        try await write(ByteBuffer(string: line + "\r\n"))
    }

    /// Sends raw bytes.
    public func write(_ bytes: ByteBuffer) async throws(SMTPClientError) {
        do {
            try await channel.channel.writeAndFlush(bytes)
        } catch {
            throw SMTPClientError(.connectionClosed, "write to \(remote) failed: \(error)")
        }
    }

    /// Reads the next reply. - Throws: `.timeout`, `.connectionClosed` or `.protocolViolation`.
    public func reply(timeout: Duration) async throws(SMTPClientError) -> SMTPReply {
        try await replies.next(timeout: timeout, remote: remote)
    }

    /// Closes the connection.
    public func close() async {
        try? await channel.channel.close()
    }

    /// True while the TCP connection is open.
    public var isActive: Bool { channel.channel.isActive }
}

/// The inbound reply stream with a per-read deadline.
private final class Replies: Sendable {
    private let channel: NIOAsyncChannel<SMTPReply, ByteBuffer>
    private let iterator: IteratorBox

    init(channel: NIOAsyncChannel<SMTPReply, ByteBuffer>) {
        self.channel = channel
        self.iterator = IteratorBox(channel.inbound.makeAsyncIterator())
    }

    func next(timeout: Duration, remote: String) async throws(SMTPClientError) -> SMTPReply {
        let channel = channel.channel
        // A timer closes the channel if no reply comes in time; the read then ends.
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
        defer { timer.cancel() }
        let started = ContinuousClock.now
        do {
            if let reply = try await iterator.next() { return reply }
        } catch let error as SMTPReplyDecoder.DecodeError {
            channel.close(promise: nil)
            throw SMTPClientError(.protocolViolation, "bad reply from \(remote): \(error)")
        } catch {
            throw SMTPClientError(.connectionClosed, "connection to \(remote) failed: \(error)")
        }
        if ContinuousClock.now - started >= timeout {
            throw SMTPClientError(.timeout, "timeout waiting for a reply from \(remote)")
        }
        throw SMTPClientError(.connectionClosed, "\(remote) closed the connection")
    }
}

/// The async iterator is used by one task at a time (the connection's owner); the box lets the
/// Sendable connection hold it.
private final class IteratorBox: @unchecked Sendable {
    private var iterator: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator

    init(_ iterator: NIOAsyncChannelInboundStream<SMTPReply>.AsyncIterator) {
        self.iterator = iterator
    }

    func next() async throws -> SMTPReply? {
        try await iterator.next()
    }
}
