import Foundation
import Synchronization
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore

/// The durable queue: one SQLite database in WAL mode, `synchronous=FULL`, under `spool_dir`.
///
/// The listener commits accepted messages through `commit(_:completion:)` (group commit); the
/// worker and `relayctl` read and update the same rows.
public final class Spool: Sendable {
    /// The database file's name inside the spool directory.
    public static let databaseName = "spool.sqlite"

    public let directory: String
    /// Device and inode of `spool.sqlite` when it was opened.
    private let openedIdentity: [UInt64]?
    let database: DatabasePool
    /// For the spool's own writers.
    let logger: Logger
    private let writer: GroupCommitWriter<IncomingMessage>
    private let idGenerator = QueueIDGenerator()

    /// Folder of spill files for large messages being received.
    public var incomingDirectory: String { directory + "/incoming" }

    /// How this process's commits reach the disk.
    public enum Durability: Sendable {
        /// `synchronous=FULL`: a commit returns after the WAL is fsynced. Required before `250`.
        case full
        /// `synchronous=NORMAL`: a commit may be lost on power loss, but never half applied. For
        /// the worker: losing its last state changes only repeats a delivery attempt (the
        /// RFC 1047 duplicate window), and a bounce is stored in the same transaction as the
        /// recipient state that caused it, so both are lost or kept together.
        case normal
    }

    /// Opens (creating if needed) the spool, migrates it and checks durability settings.
    /// - Parameters:
    ///   - directory: `spool_dir`.
    ///   - durability: `.full` for the listener (the default), `.normal` for the worker.
    ///   - busyTimeout: how long a write waits for another process's lock before failing.
    ///   - onBatch: told of each group commit (messages, seconds), for metrics.
    /// - Throws: `SpoolError` when the spool cannot be opened, migrated or made durable.
    public init(
        directory: String, durability: Durability = .full, busyTimeout: TimeInterval = 5,
        logger: Logger = Logger(label: "relay.spool"),
        onBatch: @escaping @Sendable (Int, Double) -> Void = { _, _ in }
    ) throws(SpoolError) {
        self.directory = directory
        self.logger = logger
        if let problem = Self.accessProblem(directory) { throw .access(problem) }
        do {
            try FileManager.default.createDirectory(atPath: directory + "/incoming", withIntermediateDirectories: true)
        } catch {
            throw .open("cannot create \(directory)/incoming: \(error.localizedDescription)")
        }
        // Spill files left by a crash belong to messages that never got a 250; those of a live
        // listener (the one a reload replaces, still finishing its sessions) are locked.
        SpillFiles.removeAbandoned(in: directory + "/incoming")
        var configuration = Configuration()
        // SQLite's own busy timeout sleeps 1, 2, 5 … 100 ms between tries; the listener's
        // commits hold the lock for well under a millisecond, so such sleeps would dominate the
        // worker's latency. Retry every 100 µs instead, for as long as `busyTimeout` allows,
        // measured on the monotonic clock: a count of tries is not time (usleep(100) sleeps about
        // 200 µs here, longer under load; 50,000 tries once took 9.8 s for a "5 s" bound).
        let bound = Duration.milliseconds(Int64(max(0.001, busyTimeout) * 1000))
        let deadlines = Mutex<[UInt: ContinuousClock.Instant]>([:])
        configuration.busyMode = .callback { attempt in
            // One wait per connection at a time, each on its own thread; attempt 0 starts it.
            let now = ContinuousClock.now
            let thread = UInt(bitPattern: Int(bitPattern: pthread_self()))
            let deadline = deadlines.withLock { waits in
                if attempt == 0 || waits[thread] == nil { waits[thread] = now + bound }
                return waits[thread]!
            }
            guard now < deadline else { return false }
            usleep(100)
            return true
        }
        configuration.foreignKeysEnabled = true
        configuration.label = "spool"
        do {
            // The listener and the worker may open a new spool at the same moment: switching it
            // to WAL and migrating it take locks SQLite does not wait for, so a file lock makes
            // one of them set it up and the other find the work done.
            var opened: DatabasePool?
            try Self.withFileLock(directory + "/.migration.lock") {
                let pool = try DatabasePool(path: directory + "/" + Self.databaseName, configuration: configuration)
                try SpoolSchema.migrator.migrate(pool)
                opened = pool
            }
            // Invariant: withFileLock ran the closure, which either threw or set `opened`.
            database = opened!
            // GRDB sets synchronous=NORMAL on the WAL writer; with WAL, NORMAL can lose committed
            // transactions on power loss. A 250 needs FULL, so set it and read it back.
            let wanted = durability == .full ? 2 : 1
            let level = try database.writeWithoutTransaction { db -> Int in
                try db.execute(sql: "PRAGMA synchronous = \(wanted)")
                return try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
            }
            guard level == wanted else {
                throw SpoolError.durability("PRAGMA synchronous reads \(level), not \(wanted)")
            }
            let mode = try database.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
            guard mode == "wal" else { throw SpoolError.durability("journal_mode is \(mode ?? "?"), not wal") }
        } catch let error as SpoolError {
            throw error
        } catch {
            throw .open("cannot open \(directory)/\(Self.databaseName): \(error)")
        }
        // The file this process has open, by identity: deleted or replaced under a running relay,
        // the name no longer leads to it, and a "committed" message would be in an inode nobody
        // will ever read again (issue 13, hole 6). Checked before each message's insert.
        let path = directory + "/" + Self.databaseName
        let identity = Self.fileIdentity(path)
        openedIdentity = identity
        writer = GroupCommitWriter(
            name: "spool-writer", database: database, logger: logger,
            write: { message, db in
                guard let identity, Self.fileIdentity(path) == identity else {
                    logger.critical("the spool database was deleted or replaced; refusing mail until restarted", metadata: ["path": "\(path)"])
                    throw SpoolError.write("\(path) is no longer the database this process opened")
                }
                try SpoolWrites.insert(message, into: db)
            },
            finished: { $0.body.discard() }, onBatch: onBatch)
        writer.start()
    }

    /// Why this process cannot use the existing `directory` (or its database), in one line
    /// naming path, owner, mode and the process's user; nil when it can or nothing is there yet.
    static func accessProblem(_ directory: String) -> String? {
        for path in [directory, directory + "/" + databaseName] {
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            let isDirectory = (info.st_mode & S_IFMT) == S_IFDIR
            let wanted = isDirectory ? R_OK | W_OK | X_OK : R_OK | W_OK
            guard access(path, wanted) != 0 else { continue }
            let reason = String(cString: strerror(errno))  // EACCES, or EROFS under ProtectSystem
            let owner = getpwuid(info.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "\(info.st_uid)"
            let me = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "\(geteuid())"
            return "cannot write \(path) (\(reason)): owner \(owner), mode \(String(info.st_mode & 0o7777, radix: 8)); relayd runs as \(me)"
        }
        return nil
    }

    /// Whether `spool.sqlite` is still the file this process opened: false once it was deleted
    /// or replaced under the running relay (status and metrics say so).
    public var isStillOnDisk: Bool {
        guard let openedIdentity else { return false }
        return Self.fileIdentity(directory + "/" + Self.databaseName) == openedIdentity
    }

    /// Device and inode of the file at `path`, nil when there is none.
    static func fileIdentity(_ path: String) -> [UInt64]? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return [UInt64(info.st_dev), UInt64(info.st_ino)]
    }

    /// Runs `body` holding an exclusive flock(2) on `path`, shared by every process.
    private static func withFileLock(_ path: String, _ body: () throws -> Void) throws {
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw SpoolError.open("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { Glibc.close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw SpoolError.open("cannot lock \(path): \(String(cString: strerror(errno)))") }
        }
        defer { flock(fd, LOCK_UN) }
        try body()
    }

    /// Takes the spool's worker lock for the life of this process: two workers delivering from
    /// one spool would deliver mail twice. - Throws: when another process holds it.
    public func lockForWorker() throws(SpoolError) {
        let path = directory + "/worker.lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .open("cannot open \(path): \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            Glibc.close(fd)
            throw .open("another worker is running on \(directory) (\(path) is locked)")
        }
        // The descriptor stays open, and the lock held, until the process ends.
    }

    /// Stops the writer after the messages already handed to it are committed.
    public func close() {
        writer.stop()
    }

    /// A new queue id (SPEC: unique, sortable by arrival, `[0-9A-Z]`).
    public func makeQueueID() -> String {
        idGenerator.next()
    }

    /// A buffer for the text of one incoming message, spilling to `incoming/<queueID>`.
    public func makeBodyBuffer(queueID: String, allocator: ByteBufferAllocator, memoryLimit: Int = MessageBodyBuffer.defaultMemoryLimit)
        -> MessageBodyBuffer
    {
        MessageBodyBuffer(spillPath: incomingDirectory + "/" + queueID, memoryLimit: memoryLimit, allocator: allocator)
    }

    /// Commits a message durably (fsync) in the next group commit.
    /// - Parameter completion: called on the writer thread once the commit has returned; success
    ///   means the message is on disk and may be acknowledged with `250`.
    public func commit(_ message: IncomingMessage, completion: @escaping @Sendable (Result<Void, SpoolError>) -> Void) {
        writer.submit(message, completion: completion)
    }

    /// Commits a message durably. - Throws: `SpoolError` if it was not stored.
    public func commit(_ message: IncomingMessage) async throws(SpoolError) {
        try await writer.commit(message)
    }
}
