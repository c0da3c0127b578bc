import ArgumentParser

@main
struct Relayctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relayctl",
        abstract: "Look at and steer Relay's queue.",
        version: "0.1.0",
        subcommands: [QueueCommand.self, StatusCommand.self, PauseCommand.self, ResumeCommand.self, ReloadCommand.self]
    )
}
