import ArgumentParser
import Foundation
import RelayConfig
import Spool

/// `relayctl queue`: the queue, read from the spool (works with the daemons down).
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "Show and steer the queue.",
        subcommands: [
            QueueListCommand.self, ShowCommand.self, CatCommand.self, FlushCommand.self, HoldCommand.self,
            ReleaseCommand.self, DeleteCommand.self, BounceCommand.self, ShapeCommand.self,
        ],
        defaultSubcommand: QueueListCommand.self)
}

/// `relayctl queue [list]`.
struct QueueListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List queued mail like postqueue -p, or one JSON object per message with --json.")

    enum State: String, ExpressibleByArgument, CaseIterable {
        case queued, deferred, held, active
    }

    @OptionGroup var options: RelayctlOptions

    @Flag(help: "One JSON object per message and line (postqueue -j member names).")
    var json = false

    @Option(help: "Only messages in this queue.")
    var state: State?

    @Option(help: "Only messages with a pending recipient in this domain.")
    var domain: String?

    @Option(help: "Only messages from this sender (use \"\" for the null sender).")
    var sender: String?

    func run() throws {
        let messages: [QueuedMessage]
        do {
            messages = try options.reader().pendingMessages()
        } catch let error as SpoolError {
            fail("\(error)", code: 69)
        }
        let selected = messages.filter(matches)
        let reasons = WaitingReason(spoolDirectory: try options.configuration().spoolDir)
        if json {
            for message in selected { print(QueueJSON.line(message, reasons: reasons)) }
        } else {
            print(QueueTable.render(selected, reasons: reasons), terminator: "")
        }
    }

    private func matches(_ message: QueuedMessage) -> Bool {
        if let state, message.queueName != state.rawValue { return false }
        if let sender, message.sender.lowercased() != sender.lowercased() { return false }
        if let domain {
            let wanted = domain.lowercased()
            return message.recipients.contains { $0.address.lowercased().hasSuffix("@" + wanted) }
        }
        return true
    }
}
