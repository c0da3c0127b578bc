import Foundation
import NIOConcurrencyHelpers

/// Idle, greeted connections kept for the next message to the same destination (Postfix's
/// connection cache): saves the TCP handshake, greeting and EHLO per message.
final class ConnectionCache: Sendable {
    private struct Entry {
        var session: SMTPDeliverySession
        var idleSince: Double
        var uses: Int
    }

    /// How long an idle connection is kept.
    static let idleLimit: Double = 10
    /// Transactions per connection before it is closed.
    static let maximumUses = 100

    private let entries = NIOLockedValueBox<[String: [Entry]]>([:])

    /// An idle connection to `destination`, if one is open.
    func take(_ destination: String, now: Double = Date().timeIntervalSince1970) -> (SMTPDeliverySession, Int)? {
        let (found, expired) = entries.withLockedValue { entries -> ((SMTPDeliverySession, Int)?, [SMTPDeliverySession]) in
            var list = entries[destination] ?? []
            var expired: [SMTPDeliverySession] = []
            var found: (SMTPDeliverySession, Int)?
            while let entry = list.popLast() {
                if now - entry.idleSince < Self.idleLimit && entry.session.connection.isActive {
                    found = (entry.session, entry.uses)
                    break
                }
                expired.append(entry.session)
            }
            entries[destination] = list.isEmpty ? nil : list
            return (found, expired)
        }
        for session in expired { Task { await session.quit() } }  // bridges to async close; nothing waits on it
        return found
    }

    /// Keeps a connection for reuse, or closes it when it has served enough.
    func put(_ destination: String, _ session: SMTPDeliverySession, uses: Int, now: Double = Date().timeIntervalSince1970)
        async
    {
        guard uses < Self.maximumUses, session.connection.isActive else {
            await session.quit()
            return
        }
        entries.withLockedValue { $0[destination, default: []].append(Entry(session: session, idleSince: now, uses: uses)) }
    }

    /// Closes connections idle too long.
    func closeIdle(now: Double = Date().timeIntervalSince1970) async {
        let expired = entries.withLockedValue { entries -> [SMTPDeliverySession] in
            var expired: [SMTPDeliverySession] = []
            for (key, list) in entries {
                let keep = list.filter { now - $0.idleSince < Self.idleLimit && $0.session.connection.isActive }
                expired += list.filter { !(now - $0.idleSince < Self.idleLimit && $0.session.connection.isActive) }.map(\.session)
                entries[key] = keep.isEmpty ? nil : keep
            }
            return expired
        }
        for session in expired { await session.quit() }
    }

    /// Says QUIT on every connection (shutdown).
    func closeAll() async {
        let all = entries.withLockedValue { entries -> [SMTPDeliverySession] in
            defer { entries.removeAll() }
            return entries.values.flatMap { $0.map(\.session) }
        }
        for session in all { await session.quit() }
    }
}
