import ArgumentParser
import Foundation
import Listener
import Logging
import RelayMetrics
import NIOCore
import SMTPServer
import Spool

/// `relayd listener`: the SMTP listener role alone.
struct ListenerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "listener", abstract: "Run the SMTP listener role: accept mail and commit it to the spool.")

    @OptionGroup var config: ConfigurationOption

    func run() async throws {
        ignoreBrokenPipes()
        restrictFileModes()
        exitWithSupervisor()
        let configuration = try config.load()
        bootstrapLogging(configuration.log)
        let logger = Logger(label: "relay.listener")
        let metrics = RelayMetrics()
        metrics.registerListenerSeries(version: Relayd.version)
        let spool: Spool
        do {
            spool = try Spool(
                directory: configuration.spoolDir, logger: Logger(label: "relay.spool"),
                onBatch: { _, seconds in metrics.spoolCommitSeconds.record(.nanoseconds(Int64(seconds * 1e9))) })
        } catch {
            logger.critical("cannot open spool", metadata: ["reason": "\(error)"])
            // Permissions are an admin's to fix: exit 78, which the supervisor does not restart.
            throw ExitCode(error.isAccess ? ExitStatus.configuration : ExitStatus.temporaryFailure)
        }
        let group = SMTPServerBootstrap.makeEventLoopGroup()
        let role: ListenerRole
        do {
            role = try ListenerRole(
                configuration: configuration, spool: spool, group: group, logger: logger, onReady: announceReady,
                metrics: metrics)
        } catch {
            // A missing or mismatched certificate or key, an unreadable users file: exit 78 naming it.
            FileHandle.standardError.write(Data("relayd: \(error)\n".utf8))
            throw ExitCode(ExitStatus.configuration)
        }
        let reloads = onReloadSignal(config, logger: logger) { role.reload($0) }
        // [metrics] address: the listener serves it, the worker's metrics included.
        let metricsEndpoint = MetricsEndpoint(configuration, metrics: metrics, group: group, logger: logger)
        defer { reloads.cancel() }
        try await runRole(role, named: "listener", group: group, metricsEndpoint: metricsEndpoint, logger: logger)
    }
}
