import ArgumentParser
import Foundation
import Spool

/// `relayctl queue shape`: the backlog by destination domain and age, like Postfix's qshape:
/// pending recipients per domain, in buckets of minutes since arrival (each bucket up to its
/// number, the last one older).
struct ShapeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shape", abstract: "Backlog by destination domain and age buckets (qshape).")
    @OptionGroup var options: RelayctlOptions
    @Option(help: "Show the domains with the most recipients, at most this many.") var top = 20
    @Option(help: "Only recipients in this queue (qshape's queue argument).") var state: QueueListCommand.State?
    @Flag(name: .customLong("sender"), help: "By sender domain instead of recipient domain (qshape -s).")
    var bySender = false

    static let buckets = [5, 10, 20, 40, 80, 160, 320, 640, 1280]

    func run() throws {
        let now = Date().timeIntervalSince1970
        var rows: [String: [Int]] = [:]
        for message in try options.reader().pendingMessages() {
            let minutes = (now - message.arrivalTime) / 60
            let bucket = Self.buckets.firstIndex { minutes <= Double($0) } ?? Self.buckets.count
            for recipient in message.recipients where state.map({ $0.rawValue == recipient.state }) ?? true {
                let address = bySender ? (message.sender.isEmpty ? "MAILER-DAEMON" : message.sender) : recipient.address
                let domain = address.split(separator: "@").last.map { $0.lowercased() } ?? address
                rows[domain, default: Array(repeating: 0, count: Self.buckets.count + 1)][bucket] += 1
            }
        }
        let total = (0...Self.buckets.count).map { index in rows.values.reduce(0) { $0 + $1[index] } }
        let sorted = rows.sorted { ($0.value.reduce(0, +), $1.key) > ($1.value.reduce(0, +), $0.key) }.prefix(top)
        let width = max(5, sorted.map(\.key.count).max() ?? 0)
        func cell(_ text: String) -> String { " " + String(repeating: " ", count: max(0, 5 - text.count)) + text }
        func line(_ name: String, _ counts: [Int]) -> String {
            String(repeating: " ", count: width - name.count) + name + cell("\(counts.reduce(0, +))")
                + counts.map { cell("\($0)") }.joined()
        }
        let labels = ["T"] + Self.buckets.map(String.init) + ["\(Self.buckets[Self.buckets.count - 1])+"]
        print(String(repeating: " ", count: width) + labels.map(cell).joined())
        print(line("TOTAL", total))
        for (domain, counts) in sorted { print(line(domain, counts)) }
    }
}
