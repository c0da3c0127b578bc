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
    public var queueName: String {
        let states = Set(recipients.map(\.state))
        if states.contains("active") { return "active" }
        if states == ["held"] { return "held" }
        if states.contains("deferred") { return "deferred" }
        return "queued"
    }
}

/// Read-only access to the queue for operators; it never creates or migrates a spool.
public final class SpoolReader: Sendable {
    private let database: DatabaseQueue

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
