import ArgumentParser
import Foundation

@main
struct Relayctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relayctl",
        abstract: "Look at and steer Relay's queue.",
        version: "0.1.0",
        subcommands: [QueueCommand.self, StatusCommand.self, PauseCommand.self, ResumeCommand.self, ReloadCommand.self, SendCommand.self, ParseTOMLCommand.self]
    )

    /// Invoked as `sendmail` or `mailq` (symlinks), relayctl speaks those programs' language.
    static func main() {
        let name = (CommandLine.arguments.first ?? "").split(separator: "/").last.map(String.init) ?? ""
        let rest = Array(CommandLine.arguments.dropFirst())
        switch name {
        case "sendmail":
            do { try SendmailMode.run(rest) } catch { exit(withError: error) }
        case "mailq":
            SendmailMode.mailq(rest.first == "-C" && rest.count > 1 ? rest[1] : nil)
        default:
            var command: any ParsableCommand
            do {
                command = try parseAsRoot(GlobalOptions.moveLeading(rest))
            } catch {
                exit(withError: error)
            }
            do {
                try command.run()
            } catch let error as ValidationError {
                // A bad argument found while running shows the subcommand's own usage.
                let subcommand = type(of: command)
                let usage = usageString(for: subcommand)
                FileHandle.standardError.write(Data("Error: \(error.message)\nUsage: \(usage)\n".utf8))
                Foundation.exit(ExitCode.validationFailure.rawValue)
            } catch {
                exit(withError: error)
            }
        }
    }
}
