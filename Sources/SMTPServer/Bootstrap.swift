import Logging
import NIOCore
import NIOPosix

/// Binds a listening socket whose connections are set up by `initializer`.
public enum SMTPServerBootstrap {
    /// - Parameters:
    ///   - host: address to bind (`0.0.0.0`, `::`, `127.0.0.1`, a name).
    ///   - port: TCP port; 0 picks a free one.
    ///   - group: the event loops that serve the connections.
    ///   - logger: where a connection that cannot be set up is reported, with the reason.
    ///   - initializer: sets up each accepted connection's pipeline.
    /// - Returns: the listening channel.
    /// - Throws: when the address cannot be bound.
    public static func bind(
        host: String, port: Int, group: any EventLoopGroup, logger: Logger,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A client may shut its sending side after `.` and `QUIT` (Exim does): that is
            // not a closed connection, its replies must still be written.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.maxMessagesPerRead, value: 4)
            // Small first reads keep an idle session's memory low; the allocator grows for bulk data.
            .childChannelOption(.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 256, initial: 1024, maximum: 65536))
            .childChannelInitializer { channel in
                // Set here rather than as a child channel option so that a failure is logged:
                // NIO closes a child whose options fail without a word.
                channel.setOption(.tcpOption(.tcp_nodelay), value: 1)
                    .flatMap { initializer(channel) }
                    .flatMapErrorThrowing { error in
                        logger.error(
                            "connection not set up",
                            metadata: ["client": "\(channel.remoteAddress?.description ?? "?")", "reason": "\(error)"])
                        throw error
                    }
            }
            .bind(host: host, port: port)
            .get()
    }

    /// An event loop group with one loop per core.
    public static func makeEventLoopGroup() -> MultiThreadedEventLoopGroup {
        MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
    }
}
