import Dispatch
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves `GET /metrics` in Prometheus text format; anything else gets 404.
public enum MetricsServer {
    /// - Parameters:
    ///   - metrics: this process's metrics.
    ///   - others: more Prometheus text appended to them (the other role's), read off the event
    ///     loop since it may block.
    /// - Returns: the listening channel (close it to stop).
    public static func start(
        host: String, port: Int, metrics: RelayMetrics, others: @escaping @Sendable () -> [UInt8] = { [] },
        group: any EventLoopGroup
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(metrics: metrics, others: others))
                }
            }
            .bind(host: host, port: port)
            .get()
    }
}

final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let metrics: RelayMetrics
    private let others: @Sendable () -> [UInt8]
    private var path = ""

    init(metrics: RelayMetrics, others: @escaping @Sendable () -> [UInt8]) {
        self.metrics = metrics
        self.others = others
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            path = head.method == .GET ? head.uri : ""
        case .body:
            break
        case .end:
            guard path == "/metrics" || path.hasPrefix("/metrics?") else {
                respond(found: false, body: ByteBuffer(string: "not found\n"), context: context)
                return
            }
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            let (metrics, others) = (metrics, others)
            DispatchQueue.global().async {
                let text = metrics.text() + others()
                loop.execute {
                    let (handler, context) = bound.value
                    handler.respond(found: true, body: ByteBuffer(bytes: text), context: context)
                }
            }
        }
    }

    private func respond(found: Bool, body: ByteBuffer, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4" : "text/plain")
        headers.add(name: "Content-Length", value: "\(body.readableBytes)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: found ? .ok : .notFound, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}

@available(*, unavailable)
extension MetricsHandler: Sendable {}
