import ArgumentParser

@main
struct Relayd: AsyncParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "relayd",
        abstract: "Relay: an SMTP store-and-forward relay.",
        version: version,
        subcommands: [ServeCommand.self, ListenerCommand.self, WorkerCommand.self, CheckConfigCommand.self, ParseTOMLCommand.self]
    )
}
