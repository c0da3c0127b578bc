import ArgumentParser
import Delivery
import Foundation
import Logging
import RelayMetrics
import NIOConcurrencyHelpers
import NIOCore
import SMTPServer
import ServiceLifecycle
import Spool

/// `relayd worker`: the queue manager and delivery role alone.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "Run the delivery role: deliver queued mail, retry, bounce.")

    @OptionGroup var config: ConfigurationOption

    func run() async throws {
        ignoreBrokenPipes()
        restrictFileModes()
        exitWithSupervisor()
        let configuration = try config.load()
        bootstrapLogging(configuration.log)
        let logger = Logger(label: "relay.worker")
        let spool: Spool
        do {
            // The worker's commits need no fsync: see Spool.Durability.normal.
            spool = try Spool(directory: configuration.spoolDir, durability: .normal, logger: Logger(label: "relay.spool"))
            try spool.lockForWorker()
        } catch {
            logger.critical("cannot open spool", metadata: ["reason": "\(error)"])
            // Permissions are an admin's to fix: exit 78, which the supervisor does not restart.
            throw ExitCode(error.isAccess ? ExitStatus.configuration : ExitStatus.temporaryFailure)
        }
        let group = SMTPServerBootstrap.makeEventLoopGroup()
        let metrics = RelayMetrics()
        metrics.registerWorkerSeries()
        let role = WorkerRole(
            configuration: configuration, spool: spool, group: group, logger: logger, onReady: announceReady,
            metrics: metrics)
        // Reload: deliveries in flight finish, then the worker starts over as the same process
        // (exec) with the new file, so every new attempt uses the new routes and settings.
        let restart = NIOLockedValueBox(false)
        var reloads: (any DispatchSourceSignal)?
        defer { reloads?.cancel() }
        try await runRole(role, named: "worker", group: group, metricsEndpoint: nil, logger: logger) { services in
            reloads = onReloadSignal(config, logger: logger) { _ in
                logger.notice("reload: draining deliveries, then restarting with the new configuration")
                restart.withLockedValue { $0 = true }
                Task { await services.triggerGracefulShutdown() }  // bridges the signal to the service group
            }
        }
        spool.close()
        if restart.withLockedValue({ $0 }) { reexecute() }
    }

    /// Replaces this process with a fresh run of the same command line (same pid for systemd
    /// and the supervisor). Returns only if exec fails.
    private func reexecute() {
        let executable = currentExecutable()
        var arguments = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv(executable, &arguments)
        FileHandle.standardError.write(Data("relayd: cannot restart for reload: \(String(cString: strerror(errno)))\n".utf8))
    }
}
