import ArgumentParser
import Foundation
import Logging

/// `relayd serve`: the supervisor of the listener and the worker.
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the listener and the worker as supervised child processes (restart on crash, drain on SIGTERM, reload on SIGHUP).")

    @OptionGroup var config: ConfigurationOption

    func run() throws {
        ignoreBrokenPipes()
        restrictFileModes()
        // Refuse a bad file here, once, rather than in two crash-looping children.
        let configuration = try config.load()
        bootstrapLogging(configuration.log)
        let executable = currentExecutable()
        let path = URL(fileURLWithPath: config.resolvedPath).standardizedFileURL.path
        let status = Supervisor(executable: executable, configPath: path, logger: Logger(label: "relay.supervisor")).run()
        if status != 0 { throw ExitCode(status) }
    }
}
