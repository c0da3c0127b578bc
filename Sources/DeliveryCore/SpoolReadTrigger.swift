/// When the worker reads the spool for due mail. Reading after every finished delivery would
/// cost a transaction per job; instead the spool is read when something may have changed there
/// (new mail announced, an operator's command, a DSN or retry queued by the worker itself), when
/// the last read left due mail behind, when a known retry falls due, and at every poll.
public struct SpoolReadTrigger: Sendable {
    /// Something may be due that the ready queue does not hold.
    public var changed = true
    /// When the spool was last read (Unix seconds).
    public private(set) var lastRead: Double = 0
    /// The earliest retry the spool held at the last idle read.
    public var dueAt: Double?

    public init() {}

    /// Whether to read now; if so, the trigger is reset until the next reason.
    /// - Parameter poll: seconds after which the spool is read whatever happened.
    public mutating func consume(now: Double, poll: Double) -> Bool {
        guard changed || now - lastRead >= poll || dueAt.map({ now >= $0 }) == true else { return false }
        changed = false
        lastRead = now
        dueAt = nil
        return true
    }

    /// A read found `found` messages when asked for at most `limit`: a full read leaves more
    /// due mail behind, so the next pass with room reads again.
    public mutating func read(found: Int, limit: Int) {
        if found >= limit { changed = true }
    }
}
