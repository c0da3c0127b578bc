/// A storage failure. Inside a session it becomes `452 4.3.1`; at start-up it ends the program.
public struct SpoolError: Error, Sendable, CustomStringConvertible {
    private enum Base: Sendable {
        case open
        case durability
        case write
        case body
        case notFound
        case access
    }
    private let base: Base
    /// What went wrong, for the log.
    public let reason: String

    private init(_ base: Base, _ reason: String) {
        self.base = base
        self.reason = reason
    }

    /// The spool could not be opened or migrated.
    public static func open(_ reason: String) -> SpoolError { SpoolError(.open, reason) }
    /// SQLite would not confirm `synchronous=FULL`, so a commit would not be durable.
    public static func durability(_ reason: String) -> SpoolError { SpoolError(.durability, reason) }
    /// A commit failed (disk full, I/O error, database locked past its timeout).
    public static func write(_ reason: String) -> SpoolError { SpoolError(.write, reason) }
    /// A body could not be buffered or read back.
    public static func body(_ reason: String) -> SpoolError { SpoolError(.body, reason) }
    /// The spool directory exists but this process may not use it: fixed by an admin (owner,
    /// mode), not by waiting, so the roles exit 78 instead of being restarted.
    public static func access(_ reason: String) -> SpoolError { SpoolError(.access, reason) }
    /// Whether this is an ``access(_:)`` failure.
    public var isAccess: Bool { base == .access }
    /// No message with that queue id.
    public static func notFound(_ queueID: String) -> SpoolError { SpoolError(.notFound, "no message \(queueID)") }

    public var description: String { reason }
}
