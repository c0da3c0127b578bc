import Foundation
import Spool

/// The `postqueue -p` layout: id (`*` active, `!` held), size, arrival, sender; then each
/// recipient under its last delay reason; then the total line.
enum QueueTable {
    static func render(_ messages: [QueuedMessage], reasons: WaitingReason) -> String {
        guard !messages.isEmpty else { return "Mail queue is empty\n" }
        let idWidth = max(10, (messages.map(\.queueID.count).max() ?? 10) + 1)
        var out = pad("-Queue ID-", idWidth) + "  --Size-- ----Arrival Time---- -Sender/Recipient-------\n"
        var bytes = 0
        for message in messages {
            bytes += message.size
            let mark: String
            switch message.queueName {
            case "active": mark = "*"
            case "held": mark = "!"
            default: mark = ""
            }
            let size = String(message.size)
            out += pad(message.queueID + mark, idWidth) + " " + String(repeating: " ", count: max(0, 9 - size.count))
                + size + " " + WaitingReason.time(message.arrivalTime) + "  " + (message.sender.isEmpty ? "MAILER-DAEMON" : message.sender) + "\n"
            var lastReason: String?
            for recipient in message.recipients {
                if let reason = reasons.of(recipient), reason != lastReason {
                    out += "(\(reason))\n"
                    lastReason = reason
                }
                out += String(repeating: " ", count: idWidth + 32) + recipient.address + "\n"
            }
            out += "\n"
        }
        let kbytes = (bytes + 1023) / 1024
        out += "-- \(kbytes) Kbytes in \(messages.count) \(messages.count == 1 ? "Request." : "Requests.")\n"
        return out
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }
}
