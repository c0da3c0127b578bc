import ArgumentParser
import Foundation
import Listener
import RelayConfig
import RelayTLS

/// `relayd check-config`: validate, print the effective configuration, exit 0 or 78. The files
/// the configuration names are loaded as the daemon would load them (as `nginx -t` does), so
/// what passes here does not fail at start.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print it with every default filled in (secrets redacted).")

    @OptionGroup var config: ConfigurationOption
    @Flag(name: [.customShort("q"), .long], help: "Print nothing when the file is valid (for ExecStartPre).")
    var quiet = false

    func run() throws {
        // Every problem at once, not the first only: one edit fixes them all.
        let problems = RelayConfiguration.problems(atPath: config.resolvedPath, isolation: ConfigurationOption.isolation)
        if !problems.isEmpty {
            for problem in problems { FileHandle.standardError.write(Data("relayd: \(problem)\n".utf8)) }
            throw ExitCode(ExitStatus.configuration)
        }
        let configuration = try config.load()
        do {
            try ListenerRole.loadFiles(configuration)
            try Self.checkRouteFiles(configuration)
        } catch {
            FileHandle.standardError.write(Data("relayd: \(config.resolvedPath): \(error)\n".utf8))
            throw ExitCode(ExitStatus.configuration)
        }
        for warning in configuration.warnings {
            FileHandle.standardError.write(Data("relayd: \(config.resolvedPath): warning: \(warning)\n".utf8))
        }
        if !quiet { print(configuration.effectiveTOML(), terminator: "") }
    }

    /// A route's `ca_file` must load as trust anchors and its `password_file` be readable: the
    /// worker reads them at each delivery, where a mistake would only defer mail.
    static func checkRouteFiles(_ configuration: RelayConfiguration) throws {
        for (index, route) in configuration.routes.enumerated() {
            if !route.caFile.isEmpty {
                do {
                    _ = try TLSContext(clientVerifying: true, caFile: route.caFile)
                } catch {
                    throw RouteFileError(text: "route[\(index)].ca_file: \(error)")
                }
            }
            if !route.passwordFile.isEmpty, !FileManager.default.isReadableFile(atPath: route.passwordFile) {
                throw RouteFileError(text: "route[\(index)].password_file: cannot read \(route.passwordFile)")
            }
        }
    }

    struct RouteFileError: Error, CustomStringConvertible {
        var text: String
        var description: String { text }
    }
}
