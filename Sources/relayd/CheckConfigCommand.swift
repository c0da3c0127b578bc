import ArgumentParser

/// `relayd check-config`: validate, print the effective configuration, exit 0 or 78.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration and print it with every default filled in (secrets redacted).")

    @OptionGroup var config: ConfigurationOption

    func run() throws {
        let configuration = try config.load()
        print(configuration.effectiveTOML(), terminator: "")
    }
}
