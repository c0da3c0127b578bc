import ArgumentParser
import Foundation
import RelayConfig

/// `relayctl parse-toml` (hidden): parses standard input as TOML and exits 0, whatever the
/// text; the throwaway child of `TOMLParseIsolation`, so that a file on which TOMLKit's parser
/// aborts gets exit 78 and the line, not a crash of relayctl.
struct ParseTOMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "parse-toml", abstract: "Parse TOML on standard input (internal).", shouldDisplay: false)

    static let isolation = TOMLParseIsolation.thisExecutable(arguments: ["parse-toml"])

    func run() throws {
        RelayConfiguration.parseTOMLOnly(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
    }
}
