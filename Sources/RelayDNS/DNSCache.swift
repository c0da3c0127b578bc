import Foundation
import Synchronization

/// Answers kept for their TTL: the smallest TTL of the answer records, or for a negative answer
/// the SOA minimum bounded by the SOA record's own TTL (RFC 2308 §5). Failures are not cached.
final class DNSCache: Sendable {
    struct Key: Hashable, Sendable {
        var name: String
        var type: DNSRecordType
    }

    /// Upper bound on any TTL, so a bad answer cannot stick for long.
    static let maximumTTL: UInt32 = 86_400
    /// Bound on the number of entries; the cache is emptied when it is reached.
    static let maximumEntries = 10_000

    private let entries = Mutex<[Key: (message: DNSMessage, expires: Double)]>([:])

    func lookup(_ key: Key, now: Double = Date().timeIntervalSince1970) -> DNSMessage? {
        entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expires > now else {
                entries[key] = nil
                return nil
            }
            return entry.message
        }
    }

    func store(_ key: Key, _ message: DNSMessage, now: Double = Date().timeIntervalSince1970) {
        guard let ttl = Self.ttl(of: message), ttl > 0 else { return }
        entries.withLock { entries in
            if entries.count >= Self.maximumEntries { entries.removeAll() }
            entries[key] = (message, now + Double(ttl))
        }
    }

    static func ttl(of message: DNSMessage) -> UInt32? {
        switch message.responseCode {
        case .noError where !message.answers.isEmpty:
            return min(maximumTTL, message.answers.map(\.ttl).min() ?? 0)
        case .noError, .nameError:
            for record in message.authority {
                if case .soa(let minimum) = record.data { return min(maximumTTL, record.ttl, minimum) }
            }
            return nil
        default:
            return nil
        }
    }
}
