import NIOCore
import NIOTLS
import SMTPCore

/// Turns a server's bytes into `SMTPReply` values and hands them to whoever waits, in order.
/// A malformed, endless or oversized reply, or the connection's end, fails the waiters.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder = SMTPReplyDecoder()
    private var buffer: ByteBuffer?
    /// Replies nobody asked for yet.
    private var ready: CircularBuffer<SMTPReply> = []
    /// The one reader waiting (a connection is used by one task at a time): how many replies it
    /// wants, those it has, and its promise.
    private var waiter: (count: Int, replies: [SMTPReply], promise: EventLoopPromise<[SMTPReply]>)?
    private var failure: SMTPClientError?
    private let remote: String
    /// Waits for a TLS handshake started with STARTTLS or implicit TLS.
    private var handshake: EventLoopPromise<Void>?
    /// The last error seen (a TLS failure's reason outlives the close it causes).
    private var lastError: String?

    init(remote: String) {
        self.remote = remote
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if buffer == nil { buffer = bytes } else { buffer!.writeBuffer(&bytes) }
        do {
            while let reply = try decoder.next(&buffer!) { deliver(reply) }
        } catch {
            fail(SMTPClientError(.protocolViolation, "bad reply from \(remote): \(error)"))
            context.close(promise: nil)
        }
        if buffer?.readableBytes == 0 { buffer = nil }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let error = SMTPClientError(.connectionClosed, lastError ?? "\(remote) closed the connection")
        fail(error)
        handshake?.fail(error)
        handshake = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = "\(error)"
        fail(SMTPClientError(.connectionClosed, "connection to \(remote) failed: \(error)"))
        handshake?.fail(SMTPClientError(.protocolViolation, "TLS with \(remote) failed: \(error)"))
        handshake = nil
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            handshake?.succeed(())
            handshake = nil
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Drops replies the server sent before TLS (RFC 3207 §4.2) and waits for the handshake.
    func awaitHandshake(on loop: any EventLoop) -> EventLoopFuture<Void> {
        ready.removeAll()
        buffer = nil
        decoder = SMTPReplyDecoder()
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: Void.self)
        handshake = promise
        return promise.futureResult
    }

    /// Replies received that nobody asked for yet.
    var unreadReplies: Int { ready.count }

    /// The next `count` replies, in one future: at once if they are buffered.
    func replies(_ count: Int, on loop: any EventLoop) -> EventLoopFuture<[SMTPReply]> {
        guard waiter == nil else {
            return loop.makeFailedFuture(SMTPClientError(.protocolViolation, "two readers of \(remote) at once"))
        }
        var replies: [SMTPReply] = []
        replies.reserveCapacity(count)
        while replies.count < count, let reply = ready.popFirst() { replies.append(reply) }
        if replies.count == count { return loop.makeSucceededFuture(replies) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: [SMTPReply].self)
        waiter = (count, replies, promise)
        return promise.futureResult
    }

    private func deliver(_ reply: SMTPReply) {
        guard var current = waiter else {
            ready.append(reply)
            return
        }
        waiter = nil  // so the append below does not copy the array
        current.replies.append(reply)
        if current.replies.count == current.count {
            current.promise.succeed(current.replies)
        } else {
            waiter = current
        }
    }

    private func fail(_ error: SMTPClientError) {
        guard failure == nil else { return }
        failure = error
        let current = waiter
        waiter = nil
        if let current {
            current.promise.fail(current.replies.isEmpty ? error : RepliesCutShort(replies: current.replies, error: error))
        }
    }
}

@available(*, unavailable)
extension SMTPReplyHandler: Sendable {}

/// A wait for several replies that failed after some of them came.
struct RepliesCutShort: Error {
    var replies: [SMTPReply]
    var error: SMTPClientError
}
