import ArgumentParser
import Logging
import NIOCore
import RelayConfig
import RelayMetrics

/// Serves `/metrics` on `[metrics] address` (the listener) or the port after it (the worker).
/// - Returns: the server channel, or nil when `[metrics]` has no address.
func startMetrics(
    _ configuration: RelayConfiguration, offset: Int, metrics: RelayMetrics, group: any EventLoopGroup, logger: Logger
) async throws -> (any Channel)? {
    guard let address = configuration.metrics.address else { return nil }
    do {
        let channel = try await MetricsServer.start(
            host: address.host, port: address.port + offset, metrics: metrics, group: group)
        logger.notice("metrics", metadata: ["address": "\(address.host):\(address.port + offset)"])
        return channel
    } catch {
        logger.critical("cannot serve metrics", metadata: ["address": "\(address.host):\(address.port + offset)", "reason": "\(error)"])
        throw ExitCode(ExitStatus.temporaryFailure)
    }
}
