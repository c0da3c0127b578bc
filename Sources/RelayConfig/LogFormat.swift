/// How log lines are written to stderr (`[log] format`).
public enum LogFormat: String, Sendable, CaseIterable {
    /// `key=value` pairs, one event per line.
    case logfmt
    /// One JSON object per line.
    case json
}
