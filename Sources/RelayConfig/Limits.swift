/// Per-session and per-message limits of the listener (`[limits]`).
public struct Limits: Sendable, Equatable {
    /// `max_message_size`: largest message accepted, advertised as `SIZE` (RFC 1870); larger
    /// gets `552 5.3.4`. Bytes; integer or `"50MB"`/`"50MiB"`. Default 50 MB (50,000,000).
    public var maxMessageSize: Int

    /// `max_recipients`: recipients per transaction; more get `452 4.5.3`. Default 100
    /// (RFC 5321 §4.5.3.1.8 minimum), at least 1.
    public var maxRecipients: Int

    /// `max_connections`: concurrent sessions in all. Default 1000, at least 1.
    public var maxConnections: Int

    /// `max_connections_per_ip`: concurrent sessions from one client address. Default 20.
    public var maxConnectionsPerIP: Int

    /// `command_timeout`: idle time waiting for a command. Default 5 minutes
    /// (RFC 5321 §4.5.3.2.7).
    public var commandTimeout: Duration

    /// `data_timeout`: idle time while receiving message text. Default 10 minutes.
    public var dataTimeout: Duration

    /// `max_errors`: protocol errors before `421` and disconnect. Default 10.
    public var maxErrors: Int

    /// `bare_newline`: what a bare LF gets. Default `reject-remote`.
    public var bareNewline: BareNewlinePolicy

    /// `max_line_length`: longest message text line, octets including CRLF. Default 1000
    /// (RFC 5321 §4.5.3.1.6), and never less.
    public var maxLineLength: Int

    /// `max_hops`: more `Received:` headers than this on arrival gets `554 5.4.6`. Default 100
    /// (RFC 5321 §6.3 suggests at least 100).
    public var maxHops: Int

    /// `shutdown_timeout`: how long transactions in flight may finish after SIGTERM.
    /// Default 30 seconds; `"0s"` ends them at once.
    public var shutdownTimeout: Duration

    /// The smallest `max_line_length` allowed: a server must accept 1000-octet lines
    /// (RFC 5321 §4.5.3.1.6, with CRLF).
    public static let minimumLineLength = 1000

    /// Creates limits; every parameter defaults to the documented default.
    public init(
        maxMessageSize: Int = 50_000_000,
        maxRecipients: Int = 100,
        maxConnections: Int = 1000,
        maxConnectionsPerIP: Int = 20,
        commandTimeout: Duration = .seconds(5 * 60),
        dataTimeout: Duration = .seconds(10 * 60),
        maxErrors: Int = 10,
        bareNewline: BareNewlinePolicy = .rejectRemote,
        maxLineLength: Int = 1000,
        maxHops: Int = 100,
        shutdownTimeout: Duration = .seconds(30)
    ) {
        self.maxMessageSize = maxMessageSize
        self.maxRecipients = maxRecipients
        self.maxConnections = maxConnections
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.maxErrors = maxErrors
        self.bareNewline = bareNewline
        self.maxLineLength = maxLineLength
        self.maxHops = maxHops
        self.shutdownTimeout = shutdownTimeout
    }
}
