import Foundation
import GRDB

/// One recipient of a queued message, as `relayctl queue` shows it.
public struct QueuedRecipient: Sendable, Hashable {
    public var address: String
    /// queued | active | deferred | held | delivered | bounced
    public var state: String
    public var attempts: Int
    public var lastAttempt: Double?
    public var nextAttempt: Double
    public var lastReply: String?
}

/// One message in the queue with its pending recipients.
public struct QueuedMessage: Sendable, Hashable {
    public var queueID: String
    public var arrivalTime: Double
    public var size: Int
    /// `""` is the null sender.
    public var sender: String
    public var forcedExpire: Bool
    public var recipients: [QueuedRecipient]

    /// The Postfix-style queue the message is in: `active` if any recipient is being delivered,
    /// `held` if all pending ones are held, `deferred` if any was tried, else `queued`.
    public var queueName: String { Self.queueName(of: Set(recipients.map(\.state))) }

    /// The queue name for a message whose pending recipients are in `states`.
    static func queueName(of states: Set<String>) -> String {
        if states.contains("active") { return "active" }
        if states == ["held"] { return "held" }
        if states.contains("deferred") { return "deferred" }
        return "queued"
    }
}

/// Read-only access to the queue for operators; it never creates or migrates a spool.
public final class SpoolReader: Sendable {
    let database: DatabaseQueue

    /// - Parameter directory: `spool_dir`.
    /// - Throws: `SpoolError.open` when there is no spool there.
    public init(directory: String) throws(SpoolError) {
        var configuration = Configuration()
        configuration.readonly = true
        configuration.busyMode = .timeout(5)
        do {
            database = try DatabaseQueue(path: directory + "/" + Spool.databaseName, configuration: configuration)
        } catch {
            throw .open("cannot open \(directory)/\(Spool.databaseName): \(error)")
        }
    }

    /// Messages with at least one pending recipient (not delivered, not bounced), oldest first.
    public func pendingMessages() throws(SpoolError) -> [QueuedMessage] {
        do {
            return try database.read { db in
                var messages: [Int64: QueuedMessage] = [:]
                var order: [Int64] = []
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT m.id, m.queue_id, m.arrival_time, m.size, m.sender, m.forced_expire,
                               r.address, r.state, r.attempts, r.last_attempt, r.next_attempt, r.last_reply
                        FROM messages m JOIN recipients r ON r.message_id = m.id
                        WHERE r.state NOT IN ('delivered', 'bounced')
                        ORDER BY m.queue_id, r.id
                        """)
                while let row = try rows.next() {
                    let id: Int64 = row["id"]
                    if messages[id] == nil {
                        order.append(id)
                        messages[id] = QueuedMessage(
                            queueID: row["queue_id"], arrivalTime: row["arrival_time"], size: row["size"],
                            sender: row["sender"], forcedExpire: row["forced_expire"] != 0, recipients: [])
                    }
                    messages[id]!.recipients.append(
                        QueuedRecipient(
                            address: row["address"], state: row["state"], attempts: row["attempts"],
                            lastAttempt: row["last_attempt"], nextAttempt: row["next_attempt"],
                            lastReply: row["last_reply"]))
                }
                return order.compactMap { messages[$0] }
            }
        } catch {
            throw .open("cannot read the queue: \(error)")
        }
    }
}

/// One delivery attempt, for `relayctl queue show`.
public struct QueuedAttempt: Sendable, Hashable {
    public var time: Double
    public var recipient: String
    public var relay: String?
    public var reply: String?
    public var dsn: String?
}

/// Everything `relayctl queue show` prints about one message.
public struct QueuedMessageDetails: Sendable, Hashable {
    public var message: QueuedMessage
    public var clientAddress: String
    public var heloName: String
    public var tlsVersion: String?
    public var tlsCipher: String?
    public var authUser: String?
    public var attempts: [QueuedAttempt]
}

extension SpoolReader {
    /// Details of a message still in the queue. - Returns: nil for an unknown or finished id.
    public func details(queueID: String) throws(SpoolError) -> QueuedMessageDetails? {
        do {
            return try database.read { db -> QueuedMessageDetails? in
                guard let row = try Row.fetchOne(db, sql: "SELECT * FROM messages WHERE queue_id = ?", arguments: [queueID])
                else { return nil }
                let id: Int64 = row["id"]
                let recipients = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM recipients WHERE message_id = ? AND state NOT IN ('delivered', 'bounced') ORDER BY id",
                    arguments: [id]
                ).map { r in
                    QueuedRecipient(
                        address: r["address"], state: r["state"], attempts: r["attempts"], lastAttempt: r["last_attempt"],
                        nextAttempt: r["next_attempt"], lastReply: r["last_reply"])
                }
                guard !recipients.isEmpty else { return nil }
                let attempts = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT a.time, r.address, a.relay, a.reply, a.dsn FROM attempts a
                        LEFT JOIN recipients r ON r.id = a.recipient_id WHERE a.message_id = ? ORDER BY a.time, a.id
                        """, arguments: [id]
                ).map { a in
                    QueuedAttempt(time: a["time"], recipient: a["address"] ?? "", relay: a["relay"], reply: a["reply"], dsn: a["dsn"])
                }
                return QueuedMessageDetails(
                    message: QueuedMessage(
                        queueID: queueID, arrivalTime: row["arrival_time"], size: row["size"], sender: row["sender"],
                        forcedExpire: row["forced_expire"] != 0, recipients: recipients),
                    clientAddress: row["client_address"], heloName: row["helo_name"], tlsVersion: row["tls_version"],
                    tlsCipher: row["tls_cipher"], authUser: row["auth_user"], attempts: attempts)
            }
        } catch {
            throw .open("cannot read the queue: \(error)")
        }
    }

    /// The stored text of a message, in order. - Returns: nil for an unknown id.
    public func text(queueID: String) throws(SpoolError) -> [Data]? {
        do {
            return try database.read { db -> [Data]? in
                guard let id = try Int64.fetchOne(db, sql: "SELECT id FROM messages WHERE queue_id = ?", arguments: [queueID])
                else { return nil }
                return try Data.fetchAll(db, sql: "SELECT data FROM body_chunks WHERE message_id = ? ORDER BY seq", arguments: [id])
            }
        } catch {
            throw .open("cannot read the queue: \(error)")
        }
    }

    /// Messages with a pending recipient, by queue name (queued, active, deferred, held).
    public func counts() throws(SpoolError) -> [String: Int] {
        var counts = ["queued": 0, "active": 0, "deferred": 0, "held": 0]
        for message in try pendingMessages() { counts[message.queueName, default: 0] += 1 }
        return counts
    }
}
