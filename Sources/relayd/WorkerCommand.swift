import ArgumentParser
import Delivery
import Foundation
import Logging
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
            throw ExitCode(ExitStatus.temporaryFailure)
        }
        let group = SMTPServerBootstrap.makeEventLoopGroup()
        let role = WorkerRole(configuration: configuration, spool: spool, group: group, logger: logger)
        let services = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [.init(service: role)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "relay.lifecycle")))
        do {
            try await services.run()
        } catch {
            logger.critical("worker failed", metadata: ["reason": "\(error)"])
            try? await group.shutdownGracefully()
            throw ExitCode(ExitStatus.temporaryFailure)
        }
        spool.close()
        try await group.shutdownGracefully()
    }
}
