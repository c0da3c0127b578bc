import Foundation
import GRDB

/// Which messages an operator's command is about.
public enum QueueSelection: Sendable, Hashable {
    case ids([String])
    case domain(String)
    case all
}

/// The queue-changing operations behind `relayctl queue flush|hold|release|delete|bounce`.
/// Each is one transaction; recipients being delivered right now (`active`) are left alone
/// except by `delete`.
public struct QueueAdministration: Sendable {
    private let database: DatabasePool

    public init(spool: Spool) {
        database = spool.database
    }

    /// The result of one operation: how many messages it touched, and the ids it did not know.
    public struct Outcome: Sendable, Hashable {
        public var messages: Int
        public var unknownIDs: [String]
        /// The queue ids of the messages it touched, for the log's one line per message.
        public var queueIDs: [String]

        public init(messages: Int, unknownIDs: [String], queueIDs: [String] = []) {
            self.messages = messages
            self.unknownIDs = unknownIDs
            self.queueIDs = queueIDs
        }
    }

    /// Makes waiting recipients due now (ignoring backoff).
    /// With `.domain`, only that domain's recipients (Postfix's `postqueue -s`).
    public func flush(_ selection: QueueSelection, now: Double) throws -> Outcome {
        try update(selection, sql: "UPDATE recipients SET next_attempt = ? WHERE message_id = ? AND state IN ('queued', 'deferred')", now: now)
    }

    /// Stops delivery of waiting recipients until released.
    public func hold(_ selection: QueueSelection) throws -> Outcome {
        try update(selection, sql: "UPDATE recipients SET state = 'held' WHERE message_id = ? AND state IN ('queued', 'deferred')", now: nil)
    }

    /// Makes held recipients due now again.
    public func release(_ selection: QueueSelection, now: Double) throws -> Outcome {
        try update(
            selection,
            sql: """
                UPDATE recipients SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, next_attempt = ?
                WHERE message_id = ? AND state = 'held'
                """, now: now)
    }

    /// Removes messages without a bounce.
    public func delete(_ selection: QueueSelection) throws -> Outcome {
        try database.write { db in
            let (ids, unknown) = try resolve(selection, db)
            let queueIDs = try ids.map { try Self.queueID(of: $0, db) }
            for id in ids { try db.execute(sql: "DELETE FROM messages WHERE id = ?", arguments: [id]) }
            return Outcome(messages: ids.count, unknownIDs: unknown, queueIDs: queueIDs)
        }
    }

    /// The internal ids of the selected messages that still have a pending recipient.
    public func pendingMessageIDs(_ ids: [String]) throws -> (found: [Int64], unknown: [String]) {
        try database.read { db in try resolve(.ids(ids), db) }
    }

    /// Runs `sql` (its last placeholder the message id, a first one `now` when given) for each
    /// selected message; with `.domain`, for that domain's recipients only.
    private func update(_ selection: QueueSelection, sql: String, now: Double?) throws -> Outcome {
        try database.write { db in
            let (ids, unknown) = try resolve(selection, db)
            var text = sql
            var pattern: String?
            if case .domain(let domain) = selection {
                text += " AND lower(address) LIKE ? ESCAPE '\\'"
                pattern = Self.addressPattern(domain)
            }
            let statement = try db.makeStatement(sql: text)
            var touched: [String] = []
            for id in ids {
                var arguments: [(any DatabaseValueConvertible)?] = now.map { [$0] } ?? []
                arguments.append(id)
                if let pattern { arguments.append(pattern) }
                try statement.execute(arguments: StatementArguments(arguments))
                if db.changesCount > 0 { touched.append(try Self.queueID(of: id, db)) }
            }
            return Outcome(messages: touched.count, unknownIDs: unknown, queueIDs: touched)
        }
    }

    private static func queueID(of id: Int64, _ db: Database) throws -> String {
        try String.fetchOne(db, sql: "SELECT queue_id FROM messages WHERE id = ?", arguments: [id]) ?? "?"
    }

    /// `LIKE` pattern for the addresses in `domain`, its wildcards escaped.
    private static func addressPattern(_ domain: String) -> String {
        let escaped = domain.lowercased().replacingOccurrences(of: "\\", with: "\\\\")
            .replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_")
        return "%@" + escaped
    }

    /// Messages with at least one pending recipient matching `selection`, and unknown ids
    /// (no such message, or one already finished).
    private func resolve(_ selection: QueueSelection, _ db: Database) throws -> ([Int64], [String]) {
        let pending = "EXISTS (SELECT 1 FROM recipients r WHERE r.message_id = m.id AND r.state NOT IN ('delivered', 'bounced'))"
        switch selection {
        case .all:
            return (try Int64.fetchAll(db, sql: "SELECT id FROM messages m WHERE \(pending)"), [])
        case .domain(let domain):
            let ids = try Int64.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT m.id FROM messages m JOIN recipients r ON r.message_id = m.id
                    WHERE r.state NOT IN ('delivered', 'bounced') AND lower(r.address) LIKE ? ESCAPE '\\'
                    """, arguments: [Self.addressPattern(domain)])
            return (ids, [])
        case .ids(let queueIDs):
            var found: [Int64] = []
            var unknown: [String] = []
            for queueID in queueIDs {
                if let id = try Int64.fetchOne(db, sql: "SELECT id FROM messages m WHERE queue_id = ? AND \(pending)", arguments: [queueID]) {
                    found.append(id)
                } else {
                    unknown.append(queueID)
                }
            }
            return (found, unknown)
        }
    }
}
