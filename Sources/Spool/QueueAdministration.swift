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

        public init(messages: Int, unknownIDs: [String]) {
            self.messages = messages
            self.unknownIDs = unknownIDs
        }
    }

    /// Makes waiting recipients due now (ignoring backoff).
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
            for id in ids { try db.execute(sql: "DELETE FROM messages WHERE id = ?", arguments: [id]) }
            return Outcome(messages: ids.count, unknownIDs: unknown)
        }
    }

    /// The internal ids of the selected messages that still have a pending recipient.
    public func pendingMessageIDs(_ ids: [String]) throws -> (found: [Int64], unknown: [String]) {
        try database.read { db in try resolve(.ids(ids), db) }
    }

    private func update(_ selection: QueueSelection, sql: String, now: Double?) throws -> Outcome {
        try database.write { db in
            let (ids, unknown) = try resolve(selection, db)
            let statement = try db.makeStatement(sql: sql)
            var touched = 0
            for id in ids {
                if let now { try statement.execute(arguments: [now, id]) } else { try statement.execute(arguments: [id]) }
                if db.changesCount > 0 { touched += 1 }
            }
            return Outcome(messages: touched, unknownIDs: unknown)
        }
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
                    WHERE r.state NOT IN ('delivered', 'bounced') AND lower(r.address) LIKE ?
                    """, arguments: ["%@" + domain.lowercased()])
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
