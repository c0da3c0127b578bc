import ArgumentParser
import Foundation
import RelayConfig

/// `-c FILE`, shared by every subcommand. The default is `$RELAYD_CONFIG`, else
/// `/etc/relayd/relayd.conf` (SPEC: Programs).
struct ConfigurationOption: ParsableArguments {
    @Option(name: [.customShort("c"), .customLong("config")], help: "Configuration file (default: $RELAYD_CONFIG or /etc/relayd/relayd.conf).")
    var path: String?

    var resolvedPath: String {
        path ?? ProcessInfo.processInfo.environment["RELAYD_CONFIG"] ?? "/etc/relayd/relayd.conf"
    }

    /// TOML is parsed by `relayd parse-toml` first, where an abort of the parser cannot take a
    /// running daemon (or check-config) with it.
    static let isolation = TOMLParseIsolation.thisExecutable()

    /// Loads the configuration, or prints the error and exits 78 (EX_CONFIG).
    func load() throws -> RelayConfiguration {
        do {
            return try RelayConfiguration.load(path: resolvedPath, isolation: Self.isolation)
        } catch {
            FileHandle.standardError.write(Data("relayd: \(error)\n".utf8))
            throw ExitCode(ExitStatus.configuration)
        }
    }
}

/// sysexits(3) codes used by relayd (SPEC: Programs).
enum ExitStatus {
    static let usage: Int32 = 64
    static let unavailable: Int32 = 69
    static let software: Int32 = 70
    static let temporaryFailure: Int32 = 75
    static let configuration: Int32 = 78
}
