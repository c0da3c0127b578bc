/// Logging to stderr (`[log]`).
public struct LogConfiguration: Sendable, Equatable {
    /// `level`: lowest severity written. Default `info`.
    public var level: LogLevel

    /// `format`: `logfmt` (default) or `json`.
    public var format: LogFormat

    /// Creates a log configuration; every parameter defaults to the documented default.
    public init(level: LogLevel = .info, format: LogFormat = .logfmt) {
        self.level = level
        self.format = format
    }
}
