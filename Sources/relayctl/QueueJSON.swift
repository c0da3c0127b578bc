import Foundation
import Spool

/// One JSON object per message, with `postqueue -j` member names plus per-recipient state,
/// attempts and times (SPEC: relayctl). Times are Unix seconds.
enum QueueJSON {
    static func line(_ message: QueuedMessage, reasons: WaitingReason) -> String {
        encode(object(message, reasons: reasons))
    }

    /// `queue show --json`: the listing's object plus attempts and client facts.
    static func details(_ details: QueuedMessageDetails, reasons: WaitingReason) -> String {
        var object = object(details.message, reasons: reasons)
        object["attempts"] = details.attempts.map { attempt -> [String: Any] in
            var entry: [String: Any] = ["time": Int(attempt.time), "recipient": attempt.recipient]
            entry["relay"] = attempt.relay ?? NSNull()
            entry["reply"] = attempt.reply ?? NSNull()
            entry["dsn"] = attempt.dsn ?? NSNull()
            return entry
        }
        var tls: Any = NSNull()
        if let version = details.tlsVersion { tls = ["version": version, "cipher": details.tlsCipher ?? ""] }
        object["client"] = [
            "address": details.clientAddress, "helo": details.heloName, "tls": tls,
            "auth_user": details.authUser ?? NSNull(),
        ] as [String: Any]
        return encode(object)
    }

    static func encode(_ object: [String: Any]) -> String {
        // Invariant: the object holds only strings, numbers, booleans, nulls, arrays and dictionaries.
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    static func object(_ message: QueuedMessage, reasons: WaitingReason) -> [String: Any] {
        let recipients: [[String: Any]] = message.recipients.map { recipient in
            var object: [String: Any] = [
                "address": recipient.address, "state": recipient.state, "attempts": recipient.attempts,
                "next_attempt": Int(recipient.nextAttempt),
            ]
            if let last = recipient.lastAttempt { object["last_attempt"] = Int(last) }
            if let reason = reasons.of(recipient) { object["delay_reason"] = reason }
            return object
        }
        return [
            "queue_name": message.queueName, "queue_id": message.queueID, "arrival_time": Int(message.arrivalTime),
            "message_size": message.size, "forced_expire": message.forcedExpire, "sender": message.sender,
            "recipients": recipients,
        ]
    }
}
