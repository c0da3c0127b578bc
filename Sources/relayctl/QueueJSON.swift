import Foundation
import Spool

/// One JSON object per message, with `postqueue -j` member names plus per-recipient state,
/// attempts and times (SPEC: relayctl). Times are Unix seconds.
enum QueueJSON {
    static func line(_ message: QueuedMessage) -> String {
        let recipients: [[String: Any]] = message.recipients.map { recipient in
            var object: [String: Any] = [
                "address": recipient.address, "state": recipient.state, "attempts": recipient.attempts,
                "next_attempt": Int(recipient.nextAttempt),
            ]
            if let last = recipient.lastAttempt { object["last_attempt"] = Int(last) }
            if let reason = recipient.lastReply { object["delay_reason"] = reason }
            return object
        }
        let object: [String: Any] = [
            "queue_name": message.queueName, "queue_id": message.queueID, "arrival_time": Int(message.arrivalTime),
            "message_size": message.size, "forced_expire": message.forcedExpire, "sender": message.sender,
            "recipients": recipients,
        ]
        // Invariant: the object holds only strings, numbers, booleans, arrays and dictionaries.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }
}
