import ArgumentParser
import Foundation
import RelayConfig

/// `relayd parse-toml` (hidden): parses standard input as TOML and exits 0, whatever the text.
/// The throwaway child of `TOMLParseIsolation`: if TOMLKit's parser aborts on the text, it is
/// this process that dies, not the daemon or check-config that asked.
struct ParseTOMLCommand: ParsableCommand {
    static let name = "parse-toml"
    static let configuration = CommandConfiguration(
        commandName: name, abstract: "Parse TOML on standard input (internal).", shouldDisplay: false)

    func run() throws {
        RelayConfiguration.parseTOMLOnly(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
    }
}
