import NIOCore
import SMTPCore

/// Reads the PROXY protocol header (version 1 or 2) that a load balancer sends before SMTP, then
/// hands the connection over: it leaves the pipeline, `accept` sets up the session's handlers for
/// the client the header names, the channel is announced active to them (the banner goes out
/// only now) and the bytes that followed the header are passed on.
///
/// A connection that sends anything else, a malformed header, or nothing within `timeout` is
/// closed without a word: the peer is a proxy, not an SMTP client.
public final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer

    /// Sets up the session for `client` (nil: the header names no client, so the connection's
    /// own peer is the client).
    public typealias Accept = (_ channel: any Channel, _ client: SocketAddress?) throws -> Void

    private let accept: Accept
    private let timeout: TimeAmount
    private let onRefused: (_ reason: String) -> Void
    private var input: ByteBuffer?
    private var timer: Scheduled<Void>?

    public init(timeout: TimeAmount, onRefused: @escaping (String) -> Void, accept: @escaping Accept) {
        self.timeout = timeout
        self.onRefused = onRefused
        self.accept = accept
    }

    public func channelActive(context: ChannelHandlerContext) {
        // Not passed on: the session's handlers are not there yet.
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = bound.value
            handler.refuse(context: context, "no PROXY header within \(handler.timeout)")
        }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if input == nil { input = bytes } else { input!.writeBuffer(&bytes) }
        let header: ProxyProtocolHeader
        do throws(ProxyProtocolHeader.DecodeError) {
            guard let decoded = try ProxyProtocolHeader.decode(&input!) else { return }
            header = decoded
        } catch {
            switch error {
            case .notProxyProtocol: return refuse(context: context, "not a PROXY protocol header")
            case .malformed(let reason): return refuse(context: context, reason)
            }
        }
        timer?.cancel()
        let client: SocketAddress?
        do {
            switch header {
            case .local: client = nil
            case .proxied(.text(let address, let port)): client = try SocketAddress(ipAddress: address, port: port)
            case .proxied(.octets(let address, let port)): client = try SocketAddress(packedIPAddress: ByteBuffer(bytes: address), port: port)
            }
        } catch {
            return refuse(context: context, "bad client address in the PROXY header")
        }
        let rest = input
        input = nil
        let channel = context.channel
        let pipeline = context.pipeline
        pipeline.syncOperations.removeHandler(context: context, promise: nil)
        do {
            try accept(channel, client)
        } catch {
            onRefused("cannot set up the session: \(error)")
            channel.close(promise: nil)
            return
        }
        pipeline.syncOperations.fireChannelActive()
        if let rest, rest.readableBytes > 0 {
            pipeline.syncOperations.fireChannelRead(NIOAny(rest))
            pipeline.syncOperations.fireChannelReadComplete()
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            if (input?.readableBytes ?? 0) == 0 {
                // A load balancer's TCP health check (connect, then close): nothing to report.
                timer?.cancel()
                context.close(promise: nil)
            } else {
                refuse(context: context, "closed before the PROXY header")
            }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    private func refuse(context: ChannelHandlerContext, _ reason: String) {
        timer?.cancel()
        input = nil
        onRefused(reason)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ProxyProtocolHandler: Sendable {}
