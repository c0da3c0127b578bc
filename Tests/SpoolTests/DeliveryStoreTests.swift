import Foundation
import GRDB
import Synchronization
import Testing

@testable import Spool

@Suite struct DeliveryStoreTests {
    @Test func concurrentOutcomesShareTransactionsAndFinishedMessagesGo() async throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        for _ in 0..<200 { try await spool.commit(makeMessage(spool: spool, recipients: ["b@example.com"])) }
        let batches = Mutex<[Int]>([])
        let store = DeliveryStore(spool: spool, onBatch: { count, _ in batches.withLock { $0.append(count) } })
        defer { store.close() }
        let due = try store.dueMessages(now: 2_000_000_000, limit: 500)
        #expect(due.count == 200)
        _ = try store.claim(due.map { $0.recipients.map(\.id) })
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, message) in due.enumerated() {
                let recipient = message.recipients[0]
                // Every tenth is deferred and stays; the others are delivered and leave the spool.
                let outcome =
                    index % 10 == 0
                    ? RecipientOutcome(
                        recipientID: recipient.id, state: .deferred, nextAttempt: 2_000_000_600, reply: "451 4.3.0 later",
                        dsn: "4.3.0", relay: "mx[192.0.2.1]:25")
                    : RecipientOutcome(
                        recipientID: recipient.id, state: .delivered, nextAttempt: nil, reply: "250 2.0.0 ok", dsn: "2.0.0",
                        relay: "mx[192.0.2.1]:25")
                let record = OutcomeRecord(outcomes: [outcome], messageID: message.id, bounces: [], now: 2_000_000_000)
                group.addTask { try await store.record(record) }
            }
            try await group.waitForAll()
        }
        let counts = batches.withLock { $0 }
        #expect(counts.reduce(0, +) == 200)
        #expect(counts.count < 200)
        let (messages, deferred, attempts) = try await spool.database.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT count(*) FROM messages"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM recipients WHERE state = 'deferred' AND attempts = 1"),
                try Int.fetchOne(db, sql: "SELECT count(*) FROM attempts WHERE outcome = 'deferred'")
            )
        }
        #expect(messages == 20)
        #expect(deferred == 20)
        #expect(attempts == 20)
    }

    @Test func claimReadsTheTextsAskedFor() throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let store = DeliveryStore(spool: spool)
        defer { store.close() }
        let texts = ["Subject: one\r\n\r\n1\r\n", "Subject: two\r\n\r\n2\r\n"]
        let semaphore = DispatchSemaphore(value: 0)
        for text in texts {
            spool.commit(makeMessage(spool: spool, text: text)) { _ in semaphore.signal() }
            semaphore.wait()
        }
        let due = try store.dueMessages(now: 2_000_000_000, limit: 10)
        let (claimed, read) = try store.claim(due.map { $0.recipients.map(\.id) }, texts: [due[1].id])
        #expect(claimed.map(\.count) == [1, 1])
        #expect(read.count == 1)
        #expect(read[due[1].id] == [Data(texts[1].utf8)])
        // Claimed recipients are no longer due.
        #expect(try store.dueMessages(now: 2_000_000_000, limit: 10).isEmpty)
    }

    @Test func deletingARecipientFindsItsAttemptsByIndex() throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let plan = try spool.database.read { db in
            try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT id FROM attempts WHERE recipient_id = 1")
                .map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("attempts_recipient"), "plan: \(plan)")
    }
}
