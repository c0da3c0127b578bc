import ArgumentParser
import Logging
import NIOCore
import ServiceLifecycle

/// Runs a role's service until SIGTERM or SIGINT (or until `prepare`'s caller triggers a graceful
/// shutdown), then closes its metrics endpoint and its event loops.
/// - Parameters:
///   - name: the role, for the log line when it fails.
///   - prepare: given the service group before it runs (the worker's reload stops it from a signal).
/// - Throws: `ExitCode` 75 (temporary failure) when the role fails.
func runRole(
    _ role: some Service, named name: String, group: any EventLoopGroup, metricsEndpoint: MetricsEndpoint?, logger: Logger,
    prepare: (ServiceGroup) -> Void = { _ in }
) async throws {
    let services = ServiceGroup(
        configuration: ServiceGroupConfiguration(
            services: [.init(service: role)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: Logger(label: "relay.lifecycle")))
    prepare(services)
    do {
        try await services.run()
    } catch {
        logger.critical("\(name) failed", metadata: ["reason": "\(error)"])
        await metricsEndpoint?.close()
        try? await group.shutdownGracefully()
        throw ExitCode(ExitStatus.temporaryFailure)
    }
    await metricsEndpoint?.close()
    try await group.shutdownGracefully()
}
