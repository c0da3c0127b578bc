import NIOCore
import NIOTLS
import SMTPCore

/// Turns a server's bytes into `SMTPReply` values and hands them to whoever waits, in order.
/// A malformed, endless or oversized reply, or the connection's end, fails the waiters.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var decoder = SMTPReplyDecoder()
    private var buffer: ByteBuffer?
    private var ready: CircularBuffer<Result<SMTPReply, SMTPClientError>> = []
    private var waiting: CircularBuffer<EventLoopPromise<SMTPReply>> = []
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
            while let reply = try decoder.next(&buffer!) { deliver(.success(reply)) }
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

    /// The next reply, now if one is buffered.
    func nextReply(on loop: any EventLoop) -> EventLoopFuture<SMTPReply> {
        if let result = ready.popFirst() { return loop.makeCompletedFuture(result.mapError { $0 as any Error }) }
        if let failure { return loop.makeFailedFuture(failure) }
        let promise = loop.makePromise(of: SMTPReply.self)
        waiting.append(promise)
        return promise.futureResult
    }

    private func deliver(_ result: Result<SMTPReply, SMTPClientError>) {
        if let promise = waiting.popFirst() {
            switch result {
            case .success(let reply): promise.succeed(reply)
            case .failure(let error): promise.fail(error)
            }
        } else {
            ready.append(result)
        }
    }

    private func fail(_ error: SMTPClientError) {
        guard failure == nil else { return }
        failure = error
        while let promise = waiting.popFirst() { promise.fail(error) }
    }
}

@available(*, unavailable)
extension SMTPReplyHandler: Sendable {}
