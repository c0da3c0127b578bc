import Foundation
import GRDB
import Logging
import NIOCore

/// The single writer of accepted messages. Sessions hand it complete messages; it commits all
/// that are waiting in one SQLite transaction, so one fsync covers many messages (group commit).
/// When a batch fails, each of its messages is retried alone, so a message that cannot be
/// stored fails alone. Completions run only after the commit has returned, which is what lets
/// the listener say `250`.
final class GroupCommitWriter: @unchecked Sendable {
    typealias Completion = @Sendable (Result<Void, SpoolError>) -> Void

    private struct Request {
        var message: IncomingMessage
        var completion: Completion
    }

    /// Most messages in one transaction, so one batch cannot hold the lock for long.
    static let maximumBatch = 512

    private let database: DatabaseWriter
    private let logger: Logger
    // `condition` guards `pending` and `stopped`; @unchecked Sendable rests on that.
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var stopped = false
    private var thread: Thread?
    private let onBatch: @Sendable (_ messages: Int, _ seconds: Double) -> Void

    init(database: DatabaseWriter, logger: Logger, onBatch: @escaping @Sendable (Int, Double) -> Void) {
        self.database = database
        self.logger = logger
        self.onBatch = onBatch
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "spool-writer"
        self.thread = thread
        thread.start()
    }

    /// Queues a message for the next batch.
    func submit(_ message: IncomingMessage, completion: @escaping Completion) {
        condition.lock()
        let accepted = !stopped
        if accepted {
            pending.append(Request(message: message, completion: completion))
            condition.signal()
        }
        condition.unlock()
        if !accepted {
            message.body.discard()
            completion(.failure(.write("spool is closing")))
        }
    }

    /// Commits what is queued, then stops the thread.
    func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty && stopped {
                condition.unlock()
                return
            }
            let batch = Array(pending.prefix(Self.maximumBatch))
            pending.removeFirst(batch.count)
            condition.unlock()
            commit(batch)
        }
    }

    private func commit(_ batch: [Request]) {
        let started = DispatchTime.now().uptimeNanoseconds
        var results: [Result<Void, SpoolError>]
        do {
            try insert(batch.map(\.message))
            results = Array(repeating: .success(()), count: batch.count)
        } catch {
            if batch.count > 1 && Self.isPerMessage(error) {
                // One bad message must not fail the others: commit each alone to find it.
                results = batch.map { request in Result { try insert([request.message]) }.mapError(Self.spoolError) }
            } else {
                // Disk full, I/O error, lock timeout: retrying each message would only wait again.
                results = Array(repeating: .failure(Self.spoolError(error)), count: batch.count)
            }
        }
        for case .failure(let failure) in results {
            logger.error("spool commit failed", metadata: ["reason": "\(failure.reason)"])
        }
        onBatch(batch.count, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        for (request, result) in zip(batch, results) {
            request.message.body.discard()
            request.completion(result)
        }
    }

    /// One transaction, one fsync (synchronous=FULL), for all `messages`.
    private func insert(_ messages: [IncomingMessage]) throws {
        try database.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                for message in messages { try SpoolWrites.insert(message, into: db) }
                return .commit
            }
        }
    }

    /// Errors that belong to one message (its spill file, a constraint) rather than to the spool.
    static func isPerMessage(_ error: any Error) -> Bool {
        if error is SpoolError { return true }
        if let error = error as? DatabaseError { return error.resultCode == .SQLITE_CONSTRAINT }
        return false
    }

    static func spoolError(_ error: any Error) -> SpoolError {
        if let error = error as? SpoolError { return error }
        if let error = error as? DatabaseError {
            return .write("\(error.resultCode): \(error.message ?? "SQLite error")")
        }
        return .write("\(error)")
    }
}
