import Foundation
import GRDB

/// A recipient the worker may deliver to now.
public struct DueRecipient: Sendable, Hashable {
    public var id: Int64
    public var address: String
    public var notify: String?
    public var originalRecipient: String?
    public var attempts: Int
    /// A delay warning was sent for this recipient.
    public var warned: Bool
}

/// A message with recipients due for delivery, as the worker sees it.
public struct DueMessage: Sendable, Hashable {
    public var id: Int64
    public var queueID: String
    public var arrivalTime: Double
    public var sender: String
    public var size: Int
    public var bodyType: String?
    public var smtputf8: Bool
    public var dsnReturn: String?
    public var dsnEnvelopeID: String?
    /// message | bounce | notice: a bounce or notice is never itself bounced.
    public var kind: String
    public var recipients: [DueRecipient]
    /// The stored text when it was read with the claim (small messages), else nil.
    public var text: [Data]? = nil
}

extension DueRecipient {
    /// From a `recipients` row with id, address, dsn_notify, dsn_orcpt, attempts, warned.
    init(row: Row) {
        self.init(
            id: row["id"], address: row["address"], notify: row["dsn_notify"], originalRecipient: row["dsn_orcpt"],
            attempts: row["attempts"], warned: row["warned"] != 0)
    }
}

extension DueMessage {
    /// From a `messages` row with the envelope columns the worker reads.
    init(row: Row, recipients: [DueRecipient]) {
        self.init(
            id: row["id"], queueID: row["queue_id"], arrivalTime: row["arrival_time"], sender: row["sender"],
            size: row["size"], bodyType: row["body_type"], smtputf8: row["smtputf8"] != 0,
            dsnReturn: row["dsn_ret"], dsnEnvelopeID: row["dsn_envid"], kind: row["kind"], recipients: recipients)
    }
}

/// What became of one recipient in one attempt.
public struct RecipientOutcome: Sendable, Hashable {
    public enum State: String, Sendable {
        case delivered, deferred, bounced
    }

    public var recipientID: Int64
    public var state: State
    /// For `deferred`: when to try again (Unix seconds).
    public var nextAttempt: Double?
    public var reply: String
    public var dsn: String
    /// `host[address]:port`, or `none` when no server was reached.
    public var relay: String
    /// A delay warning goes out with this outcome.
    public var warned: Bool

    public init(
        recipientID: Int64, state: State, nextAttempt: Double?, reply: String, dsn: String, relay: String,
        warned: Bool = false
    ) {
        self.warned = warned
        self.recipientID = recipientID
        self.state = state
        self.nextAttempt = nextAttempt
        self.reply = reply
        self.dsn = dsn
        self.relay = relay
    }
}

/// The outcomes of one attempt on one message, with the DSNs they cause.
public struct OutcomeRecord: Sendable {
    public var outcomes: [RecipientOutcome]
    public var messageID: Int64
    /// DSN messages queued in the same transaction.
    public var bounces: [IncomingMessage]
    /// The attempt time (Unix seconds).
    public var now: Double

    public init(outcomes: [RecipientOutcome], messageID: Int64, bounces: [IncomingMessage], now: Double) {
        self.outcomes = outcomes
        self.messageID = messageID
        self.bounces = bounces
        self.now = now
    }
}

/// The worker's view of the spool: what is due, the stored text, and recording outcomes.
/// Each recording is one transaction, so a crash leaves either the old state (the recipient is
/// tried again: a possible duplicate, RFC 1047) or the new one, never half.
public final class DeliveryStore: Sendable {
    private let database: DatabasePool
    private let writer: GroupCommitWriter<OutcomeRecord>

    /// Works on an open spool; its outcome writer runs until `close()`.
    /// - Parameter onBatch: told of each commit of outcomes (records, seconds).
    public init(spool: Spool, onBatch: @escaping @Sendable (Int, Double) -> Void = { _, _ in }) {
        database = spool.database
        writer = GroupCommitWriter(
            name: "outcome-writer", database: spool.database, logger: spool.logger,
            write: { try Self.write($0, into: $1) }, finished: { $0.bounces.forEach { $0.body.discard() } },
            onBatch: onBatch)
        writer.start()
    }

    /// Stops the outcome writer once what it holds is committed.
    public func close() {
        writer.stop()
    }

    /// After a crash, recipients marked active were not finished: make them due again.
    public func recoverActive() throws {
        try database.write { db in
            try db.execute(sql: "UPDATE recipients SET state = 'queued' WHERE state = 'active'")
        }
    }

    /// Recipients due at `now`, grouped by message, the message with the oldest due recipient
    /// first; at most `limit` messages.
    /// - Parameter skipping: messages the caller already holds; they are passed over.
    public func dueMessages(now: Double, limit: Int, skipping: Set<Int64> = []) throws -> [DueMessage] {
        try database.read { db in
            // Two cached statements: the due messages (by the recipients_due index), then their
            // due recipients. Cheap enough to run after every finished delivery.
            // New mail first, then retries. No ORDER BY: the (state, next_attempt) index already
            // yields each state's rows oldest first, and SQLite stops at LIMIT instead of
            // sorting every due row on each pass.
            var ids: [Int64] = []
            var seen = Set<Int64>()
            for state in ["queued", "deferred"] where ids.count < limit {
                let rows = try Int64.fetchCursor(
                    db.cachedStatement(
                        sql: "SELECT message_id FROM recipients WHERE state = ? AND next_attempt <= ?"),
                    arguments: [state, now])
                while ids.count < limit, let id = try rows.next() {
                    if !skipping.contains(id) && seen.insert(id).inserted { ids.append(id) }
                }
            }
            let messageStatement = try db.cachedStatement(
                sql: """
                    SELECT id, queue_id, arrival_time, sender, size, body_type, smtputf8, dsn_ret, dsn_envid, kind
                    FROM messages WHERE id = ?
                    """)
            let recipientStatement = try db.cachedStatement(
                sql: """
                    SELECT id, address, dsn_notify, dsn_orcpt, attempts, warned FROM recipients
                    WHERE message_id = ? AND state IN ('queued', 'deferred') AND next_attempt <= ?
                    ORDER BY id
                    """)
            return try ids.compactMap { id -> DueMessage? in
                guard let row = try Row.fetchOne(messageStatement, arguments: [id]) else { return nil }
                let recipients = try Row.fetchAll(recipientStatement, arguments: [id, now]).map(DueRecipient.init(row:))
                return DueMessage(row: row, recipients: recipients)
            }
        }
    }

    /// A message with its recipients that are waiting or held (not active, not finished), for
    /// an operator's bounce.
    public func pendingMessage(id: Int64) throws -> DueMessage? {
        try database.read { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT id, queue_id, arrival_time, sender, size, body_type, smtputf8, dsn_ret, dsn_envid, kind
                        FROM messages WHERE id = ?
                        """, arguments: [id])
            else { return nil }
            let recipients = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, address, dsn_notify, dsn_orcpt, attempts, warned FROM recipients
                    WHERE message_id = ? AND state IN ('queued', 'deferred', 'held') ORDER BY id
                    """, arguments: [id]
            ).map(DueRecipient.init(row:))
            return DueMessage(row: row, recipients: recipients)
        }
    }

    /// The earliest next attempt of any waiting recipient.
    public func nextDueTime() throws -> Double? {
        try database.read { db in
            try Double.fetchOne(
                db.cachedStatement(sql: "SELECT min(next_attempt) FROM recipients WHERE state IN ('queued', 'deferred')"))
        }
    }

    /// Marks recipients active (being delivered), if they are still waiting, in one transaction
    /// for all the batches, and reads the text of the messages named in `texts` in the same
    /// transaction (one spool trip for a pass of small messages instead of one per message).
    /// - Returns: for each batch, the ids that were claimed; the texts read, by message id.
    public func claim(_ batches: [[Int64]], texts: Set<Int64> = []) throws
        -> (claimed: [Set<Int64>], texts: [Int64: [Data]])
    {
        try database.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE recipients SET state = 'active' WHERE id = ? AND state IN ('queued', 'deferred')")
            let claimed = try batches.map { batch in
                var claimed = Set<Int64>()
                for id in batch {
                    try statement.execute(arguments: [id])
                    if db.changesCount > 0 { claimed.insert(id) }
                }
                return claimed
            }
            var read: [Int64: [Data]] = [:]
            for id in texts { read[id] = try Self.bodyChunks(messageID: id, in: db) }
            return (claimed, read)
        }
    }

    /// The stored text of a message, in order, in chunks of at most 64 KiB.
    public func bodyChunks(messageID: Int64) throws -> [Data] {
        try database.read { db in try Self.bodyChunks(messageID: messageID, in: db) }
    }

    private static func bodyChunks(messageID: Int64, in db: Database) throws -> [Data] {
        try Data.fetchAll(
            db.cachedStatement(sql: "SELECT data FROM body_chunks WHERE message_id = ? ORDER BY seq"),
            arguments: [messageID])
    }

    /// Records outcomes, queues the bounces that go with them, and removes the message once no
    /// recipient is left waiting — in one transaction shared with the outcomes of other
    /// deliveries finishing at the same moment (group commit): it returns once that commit has.
    /// - Throws: `SpoolError` if it was not stored; the recipients then stay active, and the
    ///   next start makes them due again.
    public func record(_ record: OutcomeRecord) async throws(SpoolError) {
        try await writer.commit(record)
    }

    /// Whether `error` from a write would come back every time (a constraint the data breaks),
    /// unlike a full disk or an I/O error, which may pass.
    public static func isPermanent(_ error: any Error) -> Bool {
        guard let error = error as? DatabaseError else { return false }
        return [.SQLITE_CONSTRAINT, .SQLITE_MISMATCH, .SQLITE_TOOBIG, .SQLITE_RANGE].contains(error.resultCode)
    }

    /// Records outcomes at once, in a transaction of their own (`relayctl queue bounce`).
    public func recordNow(_ record: OutcomeRecord) throws {
        try database.write { db in try Self.write(record, into: db) }
    }

    /// Writes the outcomes of one attempt on one message inside the caller's transaction.
    ///
    /// Safe to repeat (a write kept after a failed commit is written again, and a commit whose
    /// fsync failed may have landed after all): a message already gone is left alone, a bounce
    /// already queued is not queued twice, and only recipients still waiting count towards
    /// "the last ones are done", so a repeat never deletes a message others still wait in.
    static func write(_ record: OutcomeRecord, into db: Database) throws {
        let messageID = record.messageID
        let waitingIDs = Set(try Int64.fetchAll(
            db.cachedStatement(
                sql: "SELECT id FROM recipients WHERE message_id = ? AND state NOT IN ('delivered', 'bounced')"),
            arguments: [messageID]))
        guard !waitingIDs.isEmpty else { return }  // done already, or deleted by an operator
        let finishing = record.outcomes.filter { $0.state != .deferred && waitingIDs.contains($0.recipientID) }.count
        for bounce in record.bounces {
            let queued = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT count(*) FROM messages WHERE queue_id = ?"), arguments: [bounce.queueID]) ?? 0
            if queued == 0 { try SpoolWrites.insert(bounce, into: db) }
        }
        if waitingIDs.count == finishing {
            // The last recipients are done: the message goes, and with it its rows; writing
            // their final states first would only be deleted again.
            try db.cachedStatement(sql: "DELETE FROM messages WHERE id = ?").execute(arguments: [messageID])
            return
        }
        let update = try db.cachedStatement(
            sql: """
                UPDATE recipients SET state = ?, attempts = attempts + 1, last_attempt = ?, next_attempt = ?,
                    last_reply = ?, last_dsn = ?, last_relay = ?, warned = max(warned, ?)
                WHERE id = ?
                """)
        let attempt = try db.cachedStatement(
            sql: """
                INSERT INTO attempts (message_id, recipient_id, time, relay, reply, dsn, outcome)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        for outcome in record.outcomes where waitingIDs.contains(outcome.recipientID) {
            try update.execute(arguments: [
                outcome.state.rawValue, record.now, outcome.nextAttempt ?? record.now, outcome.reply, outcome.dsn,
                outcome.relay, outcome.warned ? 1 : 0, outcome.recipientID,
            ])
            try attempt.execute(arguments: [
                messageID, outcome.recipientID, record.now, outcome.relay, outcome.reply, outcome.dsn,
                outcome.state.rawValue,
            ])
        }
    }

    /// Puts recipients back to waiting without counting an attempt (shutdown, paused destination).
    public func release(_ recipientIDs: [Int64], nextAttempt: Double) throws {
        try database.write { db in
            let statement = try db.cachedStatement(
                sql: "UPDATE recipients SET state = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END, next_attempt = ? WHERE id = ? AND state = 'active'")
            for id in recipientIDs { try statement.execute(arguments: [nextAttempt, id]) }
        }
    }
}

/// What the worker's metrics show about the queue.
public struct QueueFigures: Sendable {
    /// Messages by Postfix-style queue name (queued, active, deferred, held).
    public var messages: [String: Int]
    /// Arrival of the oldest message still queued (Unix seconds).
    public var oldestArrival: Double?
    /// Deferred recipients by domain.
    public var deferredByDomain: [String: Int]
}

extension DeliveryStore {
    /// Counts for the metrics endpoint.
    public func figures() throws -> QueueFigures {
        try database.read { db in
            var states: [Int64: Set<String>] = [:]
            let rows = try Row.fetchCursor(
                db, sql: "SELECT message_id, state FROM recipients WHERE state NOT IN ('delivered', 'bounced')")
            while let row = try rows.next() { states[row["message_id"], default: []].insert(row["state"]) }
            var messages = ["queued": 0, "active": 0, "deferred": 0, "held": 0]
            for set in states.values { messages[QueuedMessage.queueName(of: set), default: 0] += 1 }
            let oldest = try Double.fetchOne(db, sql: "SELECT min(arrival_time) FROM messages")
            var deferred: [String: Int] = [:]
            for row in try Row.fetchAll(
                db,
                sql: """
                    SELECT lower(substr(address, instr(address, '@') + 1)) AS domain, count(*) AS n
                    FROM recipients WHERE state = 'deferred' GROUP BY domain
                    """)
            {
                deferred[row["domain"]] = row["n"]
            }
            return QueueFigures(messages: messages, oldestArrival: oldest, deferredByDomain: deferred)
        }
    }
}
