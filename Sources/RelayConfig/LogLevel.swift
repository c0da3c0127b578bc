/// The lowest severity written to the log (`[log] level`).
public enum LogLevel: String, Sendable, CaseIterable {
    case trace
    case debug
    case info
    case notice
    case warning
    case error
}
