/// How the worker delivers (`[delivery]`).
public struct DeliveryConfiguration: Sendable, Equatable {
    /// `concurrency`: deliveries in flight in all. Default 100, at least 1.
    public var concurrency: Int

    /// `per_destination_concurrency`: deliveries in flight to one destination. Default 20.
    public var perDestinationConcurrency: Int

    /// `connect_timeout`: TCP connect and greeting wait. Default 30 seconds.
    public var connectTimeout: Duration

    /// `command_timeout`: the wait for each reply to EHLO, MAIL, RCPT, DATA, RSET and AUTH
    /// (RFC 5321 §4.5.3.2 gives 5 minutes). Default 5 minutes.
    public var commandTimeout: Duration

    /// `data_timeout`: the wait for each write of message text and for the reply to the final
    /// dot (RFC 5321 §4.5.3.2 gives 10 minutes for the latter). Default 10 minutes.
    public var dataTimeout: Duration

    /// `tls`: TLS towards upstream hosts, unless a route says otherwise. Default `opportunistic`.
    public var tls: TLSPolicy

    /// `min_backoff`: the first retry delay; the n-th is `min(max_backoff, min_backoff × 2^(n−1))`.
    /// Default 5 minutes.
    public var minBackoff: Duration

    /// `max_backoff`: the longest retry delay, not shorter than `min_backoff`. Default 1 hour.
    public var maxBackoff: Duration

    /// `max_queue_lifetime`: after this long from arrival, a message is bounced. Default 5 days.
    public var maxQueueLifetime: Duration

    /// `delay_warning`: when to tell the sender a message is delayed; `nil` (`"0"`) never.
    /// Default 4 hours.
    public var delayWarning: Duration?

    /// `max_rcpt_per_transaction`: recipients sent in one upstream transaction. Default 100.
    public var maxRcptPerTransaction: Int

    /// `mx_port`: port used for MX hosts (tests, special setups). Default 25.
    public var mxPort: Int

    /// Creates a delivery configuration; every parameter defaults to the documented default.
    public init(
        concurrency: Int = 100,
        perDestinationConcurrency: Int = 20,
        connectTimeout: Duration = .seconds(30),
        commandTimeout: Duration = .seconds(5 * 60),
        dataTimeout: Duration = .seconds(10 * 60),
        tls: TLSPolicy = .opportunistic,
        minBackoff: Duration = .seconds(5 * 60),
        maxBackoff: Duration = .seconds(60 * 60),
        maxQueueLifetime: Duration = .seconds(5 * 86_400),
        delayWarning: Duration? = .seconds(4 * 3_600),
        maxRcptPerTransaction: Int = 100,
        mxPort: Int = 25
    ) {
        self.concurrency = concurrency
        self.perDestinationConcurrency = perDestinationConcurrency
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.dataTimeout = dataTimeout
        self.tls = tls
        self.minBackoff = minBackoff
        self.maxBackoff = maxBackoff
        self.maxQueueLifetime = maxQueueLifetime
        self.delayWarning = delayWarning
        self.maxRcptPerTransaction = maxRcptPerTransaction
        self.mxPort = mxPort
    }
}
