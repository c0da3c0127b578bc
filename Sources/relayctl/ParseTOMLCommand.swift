import ArgumentParser
import RelayConfig

/// `relayctl parse-toml` (hidden): the throwaway child of `TOMLParseIsolation`, so that a file on
/// which TOMLKit's parser aborts gets exit 78 and the line, not a crash of relayctl.
struct ParseTOMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TOMLParseIsolation.childCommand, abstract: "Parse TOML on standard input (internal).",
        shouldDisplay: false)

    func run() throws {
        TOMLParseIsolation.runChild()
    }
}
