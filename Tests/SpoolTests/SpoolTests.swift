import Foundation
import GRDB
import NIOCore
import SMTPCore
import Synchronization
import Testing

@testable import Spool

@Suite struct SpoolTests {
    @Test func openingVerifiesWALAndFullSynchronous() throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let mode = try spool.database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        let level = try spool.database.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(mode == "wal")
        #expect(level == 2)
    }

    @Test func aCommittedMessageIsStoredWithEnvelopeRecipientsAndText() async throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let message = makeMessage(spool: spool, recipients: ["b@example.com", "c@example.net"])
        try await spool.commit(message)
        let reader = try SpoolReader(directory: directory.path)
        let pending = try reader.pendingMessages()
        #expect(pending.count == 1)
        #expect(pending[0].queueID == message.queueID)
        #expect(pending[0].sender == "a@example.org")
        #expect(pending[0].queueName == "queued")
        #expect(pending[0].recipients.map(\.address) == ["b@example.com", "c@example.net"])
        let text = try await spool.database.read { db in
            try Data.fetchAll(db, sql: "SELECT data FROM body_chunks ORDER BY seq")
        }
        #expect(text == [Data("Subject: t\r\n\r\nbody\r\n".utf8)])
    }

    @Test func concurrentCommitsShareTransactions() async throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let batches = Mutex<[Int]>([])
        let spool = try Spool(directory: directory.path, onBatch: { count, _ in batches.withLock { $0.append(count) } })
        defer { spool.close() }
        let messages = (0..<400).map { _ in makeMessage(spool: spool) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for message in messages { group.addTask { try await spool.commit(message) } }
            try await group.waitForAll()
        }
        let counts = batches.withLock { $0 }
        #expect(counts.reduce(0, +) == 400)
        // Group commit: fewer transactions (fsyncs) than messages.
        #expect(counts.count < 400)
        #expect(try SpoolReader(directory: directory.path).pendingMessages().count == 400)
    }

    @Test func aMessageThatCannotBeStoredFailsAloneInItsBatch() async throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let first = makeMessage(spool: spool, queueID: "DUPLICATE0000001")
        try await spool.commit(first)
        let outcome = await withTaskGroup(of: (String, Bool).self) { group in
            for index in 0..<20 {
                let message = index == 7 ? makeMessage(spool: spool, queueID: "DUPLICATE0000001") : makeMessage(spool: spool)
                group.addTask {
                    let stored = (try? await spool.commit(message)) != nil
                    return (message.queueID + "#\(index)", stored)
                }
            }
            var outcome: [String: Bool] = [:]
            for await (key, stored) in group { outcome[key] = stored }
            return outcome
        }
        #expect(outcome.filter { !$0.value }.map(\.key) == ["DUPLICATE0000001#7"])
        #expect(try SpoolReader(directory: directory.path).pendingMessages().count == 20)
    }

    @Test func largeTextSpillsToDiskAndIsStoredInChunks() async throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let id = spool.makeQueueID()
        let buffer = spool.makeBodyBuffer(queueID: id, allocator: ByteBufferAllocator(), memoryLimit: 4096)
        let line = String(repeating: "x", count: 78) + "\r\n"
        for _ in 0..<3000 { buffer.append(ByteBuffer(string: line)) }
        #expect(FileManager.default.fileExists(atPath: spool.incomingDirectory + "/" + id))
        let body = try buffer.finish()
        guard case .file(_, let size, _) = body else {
            Issue.record("a 240 KB text with a 4 KB limit must spill")
            return
        }
        #expect(size == 3000 * 80)
        var message = makeMessage(spool: spool)
        message.queueID = id
        message.body = body
        try await spool.commit(message)
        #expect(!FileManager.default.fileExists(atPath: spool.incomingDirectory + "/" + id))
        let chunks = try await spool.database.read { db in
            try Data.fetchAll(
                db, sql: "SELECT data FROM body_chunks JOIN messages m ON m.id = message_id WHERE m.queue_id = ? ORDER BY seq",
                arguments: [id])
        }
        #expect(chunks.count == 4)  // 240,000 octets in 64 KiB rows
        #expect(chunks.reduce(0) { $0 + $1.count } == 240_000)
        #expect(chunks.allSatisfy { $0.count <= 65536 })
    }

    @Test func anAbortedBufferLeavesNoSpillFile() throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        let id = spool.makeQueueID()
        do {
            let buffer = spool.makeBodyBuffer(queueID: id, allocator: ByteBufferAllocator(), memoryLimit: 10)
            buffer.append(ByteBuffer(string: String(repeating: "y", count: 100)))
            #expect(FileManager.default.fileExists(atPath: spool.incomingDirectory + "/" + id))
        }
        #expect(!FileManager.default.fileExists(atPath: spool.incomingDirectory + "/" + id))
    }

    @Test func reopeningRemovesSpillFilesOfAnInterruptedSession() throws {
        let directory = TemporarySpoolDirectory()
        defer { directory.remove() }
        try Spool(directory: directory.path).close()
        let orphan = directory.path + "/incoming/ORPHAN"
        _ = FileManager.default.createFile(atPath: orphan, contents: Data("half a message".utf8))
        let spool = try Spool(directory: directory.path)
        defer { spool.close() }
        #expect(!FileManager.default.fileExists(atPath: orphan))
    }

    @Test func queueNameFollowsRecipientStates() {
        func named(_ states: [String]) -> String {
            QueuedMessage(
                queueID: "X", arrivalTime: 0, size: 0, sender: "", forcedExpire: false,
                recipients: states.map {
                    QueuedRecipient(address: "a@b", state: $0, attempts: 0, lastAttempt: nil, nextAttempt: 0, lastReply: nil)
                }
            ).queueName
        }
        #expect(named(["queued"]) == "queued")
        #expect(named(["queued", "deferred"]) == "deferred")
        #expect(named(["held", "held"]) == "held")
        #expect(named(["held", "deferred"]) == "deferred")
        #expect(named(["deferred", "active"]) == "active")
    }
}
