import Foundation
import GRDB
import Logging
import NIOCore

/// The single writer of one kind of spool change: accepted messages in the listener, delivery
/// outcomes in the worker. Callers hand it items; it writes all that are waiting in one SQLite
/// transaction (group commit), so one commit — and with `synchronous=FULL` one fsync — covers
/// many. When a batch fails, each of its items is retried alone, so an item that cannot be
/// stored fails alone. Completions run only after the commit has returned, which is what lets
/// the listener say `250`.
final class GroupCommitWriter<Item: Sendable>: @unchecked Sendable {
    typealias Completion = @Sendable (Result<Void, SpoolError>) -> Void

    private struct Request {
        var item: Item
        var completion: Completion
    }

    /// Most items in one transaction, so one batch cannot hold the lock for long.
    static var maximumBatch: Int { 512 }

    private let name: String
    private let database: DatabaseWriter
    private let logger: Logger
    private let write: @Sendable (Item, Database) throws -> Void
    private let finished: @Sendable (Item) -> Void
    private let onBatch: @Sendable (_ items: Int, _ seconds: Double) -> Void
    // `condition` guards `pending` and `stopped`; @unchecked Sendable rests on that.
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var stopped = false

    /// - Parameters:
    ///   - name: the writer thread's name.
    ///   - write: writes one item inside the batch's transaction.
    ///   - finished: told of every item once it is written or refused (to free its resources).
    ///   - onBatch: told of each commit (items, seconds), for metrics.
    init(
        name: String, database: DatabaseWriter, logger: Logger, write: @escaping @Sendable (Item, Database) throws -> Void,
        finished: @escaping @Sendable (Item) -> Void = { _ in },
        onBatch: @escaping @Sendable (Int, Double) -> Void = { _, _ in }
    ) {
        self.name = name
        self.database = database
        self.logger = logger
        self.write = write
        self.finished = finished
        self.onBatch = onBatch
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = name
        thread.start()
    }

    /// Queues an item for the next batch.
    func submit(_ item: Item, completion: @escaping Completion) {
        condition.lock()
        let accepted = !stopped
        if accepted {
            pending.append(Request(item: item, completion: completion))
            condition.signal()
        }
        condition.unlock()
        if !accepted {
            finished(item)
            completion(.failure(.write("spool is closing")))
        }
    }

    /// Queues an item and waits for its commit. - Throws: `SpoolError` if it was not stored.
    func commit(_ item: Item) async throws(SpoolError) {
        let result = await withCheckedContinuation { continuation in
            submit(item) { continuation.resume(returning: $0) }
        }
        try result.get()
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
            try insert(batch.map(\.item))
            results = Array(repeating: .success(()), count: batch.count)
        } catch {
            if batch.count > 1 && Self.isPerItem(error) {
                // One bad item must not fail the others: commit each alone to find it.
                results = batch.map { request in Result { try insert([request.item]) }.mapError(Self.spoolError) }
            } else {
                // Disk full, I/O error, lock timeout: retrying each item would only wait again.
                results = Array(repeating: .failure(Self.spoolError(error)), count: batch.count)
            }
        }
        for case .failure(let failure) in results {
            logger.error("spool commit failed", metadata: ["reason": "\(failure.reason)"])
        }
        onBatch(batch.count, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
        for (request, result) in zip(batch, results) {
            finished(request.item)
            request.completion(result)
        }
    }

    /// One transaction (one fsync with synchronous=FULL) for all `items`.
    private func insert(_ items: [Item]) throws {
        try database.writeWithoutTransaction { db in
            try db.inTransaction(.immediate) {
                for item in items { try write(item, db) }
                return .commit
            }
        }
    }

    /// Errors that belong to one item (a message's spill file, a constraint) rather than to the spool.
    static func isPerItem(_ error: any Error) -> Bool {
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
