/// The lowest severity written to the log (`[log] level`).
public enum LogLevel: String, Sendable, CaseIterable {
    /// Everything, including protocol traces.
    case trace
    /// Details for debugging.
    case debug
    /// One line per message event (queued, delivered, deferred, bounced, expired).
    case info
    /// Normal but significant conditions (start, stop, reload).
    case notice
    /// Something is wrong but service goes on.
    case warning
    /// Something failed.
    case error
}
