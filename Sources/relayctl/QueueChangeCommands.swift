import ArgumentParser
import Foundation

/// What every queue-changing command takes: ids, or --all (flush also --domain).
struct QueueTarget: ParsableArguments {
    @Argument(help: "Queue ids; - reads them from stdin, one per line.")
    var ids: [String] = []

    @Flag(help: "Every message in the queue.")
    var all = false

    func arguments(domain: String? = nil) throws -> [String: String] {
        let ids = expandIDs(ids)
        let chosen = [!ids.isEmpty, all, domain != nil].filter { $0 }.count
        guard chosen == 1 else {
            throw ValidationError("name queue ids, \(domain == nil ? "" : "--domain, ")or --all (exactly one)")
        }
        if all { return ["all": "1"] }
        if let domain { return ["domain": domain] }
        for id in ids where !id.allSatisfy({ ("0"..."9").contains($0) || ("A"..."Z").contains($0) }) {
            throw ValidationError("not a queue id: \(id)")
        }
        return ["ids": ids.joined(separator: ",")]
    }
}

/// Runs a queue command and reports unknown ids (exit 65) as SPEC says.
func runQueueCommand(_ command: String, options: RelayctlOptions, arguments: [String: String]) throws {
    let result = try options.send(command, arguments)
    let unknown = (result["unknown"] ?? "").split(separator: ",").map(String.init)
    for id in unknown { FileHandle.standardError.write(Data("relayctl: \(id): no such message in the queue\n".utf8)) }
    print("\(command): \(result["messages"] ?? "0") message(s)")
    if !unknown.isEmpty { throw ExitCode(65) }
}

struct FlushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flush", abstract: "Attempt delivery now, ignoring backoff.")
    @OptionGroup var options: RelayctlOptions
    @OptionGroup var target: QueueTarget
    @Option(help: "Every message with a recipient in this domain.") var domain: String?
    func run() throws { try runQueueCommand("flush", options: options, arguments: target.arguments(domain: domain)) }
}

struct HoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hold", abstract: "Stop delivering; kept until released.")
    @OptionGroup var options: RelayctlOptions
    @OptionGroup var target: QueueTarget
    func run() throws { try runQueueCommand("hold", options: options, arguments: target.arguments()) }
}

struct ReleaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "release", abstract: "Deliver held mail again.")
    @OptionGroup var options: RelayctlOptions
    @OptionGroup var target: QueueTarget
    func run() throws { try runQueueCommand("release", options: options, arguments: target.arguments()) }
}

struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", abstract: "Remove mail without a bounce.")
    @OptionGroup var options: RelayctlOptions
    @OptionGroup var target: QueueTarget
    @Flag(help: "Do not ask before deleting with --all.") var yes = false
    func run() throws {
        let arguments = try target.arguments()
        if target.all && !yes {
            FileHandle.standardError.write(Data("Delete every message in the queue? [y/N] ".utf8))
            guard readLine()?.lowercased().hasPrefix("y") == true else { fail("nothing deleted", code: 1) }
        }
        try runQueueCommand("delete", options: options, arguments: arguments)
    }
}

struct BounceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bounce", abstract: "Return mail to its sender with a DSN now.")
    @OptionGroup var options: RelayctlOptions
    @Argument(help: "Queue ids; - reads them from stdin.") var ids: [String]
    func run() throws {
        let ids = expandIDs(ids)
        guard !ids.isEmpty else { throw ValidationError("name the queue ids to bounce") }
        try runQueueCommand("bounce", options: options, arguments: ["ids": ids.joined(separator: ",")])
    }
}
