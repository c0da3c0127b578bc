import Foundation
import Spool

/// Why a recipient is still waiting, as `postqueue -p` prints it in parentheses: the last
/// reply, or what the operator or the backoff decided (issue 12). Read from the spool and
/// `paused.json` alone, so it works with the worker down.
struct WaitingReason {
    let pausedAll: Bool
    let pausedDomains: Set<String>
    let now: Double

    /// The pause state of `spool_dir`; nothing paused when it cannot be read.
    init(spoolDirectory: String, now: Double = Date().timeIntervalSince1970) {
        let paused = (try? PauseFile(spoolDirectory: spoolDirectory).load()) ?? (all: false, domains: [])
        pausedAll = paused.all
        pausedDomains = paused.domains
        self.now = now
    }

    func of(_ recipient: QueuedRecipient) -> String? {
        switch recipient.state {
        case "held": return "held by the operator (relayctl queue release)"
        case "active": return nil
        default: break
        }
        let domain = recipient.address.split(separator: "@").last.map { $0.lowercased() } ?? ""
        if pausedAll { return "delivery paused by the operator (relayctl resume)" }
        if pausedDomains.contains(domain) { return "delivery to \(domain) paused by the operator (relayctl resume --domain \(domain))" }
        if let reply = recipient.lastReply { return reply }
        if recipient.nextAttempt > now + 1 {
            return "destination backed off until \(Self.time(recipient.nextAttempt))"
        }
        return nil
    }

    /// `Mon Dec  7 13:34:42`, local time, as the listing prints arrival times.
    static func time(_ time: Double) -> String {
        var seconds = time_t(time)
        var parts = tm()
        localtime_r(&seconds, &parts)
        var buffer = [Int8](repeating: 0, count: 64)
        let count = strftime(&buffer, buffer.count, "%a %b %e %H:%M:%S", &parts)
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
