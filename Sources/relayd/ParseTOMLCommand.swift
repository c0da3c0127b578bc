import ArgumentParser
import RelayConfig

/// `relayd parse-toml` (hidden): the throwaway child of `TOMLParseIsolation`. If TOMLKit's
/// parser aborts on the text, it is this process that dies, not the daemon or check-config
/// that asked.
struct ParseTOMLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: TOMLParseIsolation.childCommand, abstract: "Parse TOML on standard input (internal).",
        shouldDisplay: false)

    func run() throws {
        TOMLParseIsolation.runChild()
    }
}
