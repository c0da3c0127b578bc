/// The whole of `relayd.conf`: every key, with defaults filled in.
///
/// Read it with ``load(path:)`` or ``parse(_:source:)``; print it back with ``effectiveTOML()``.
/// Each property's documentation names its key, default and unit; the section types hold the
/// rest (``Limits``, ``RelayPolicy``, ``DeliveryConfiguration``, …).
public struct RelayConfiguration: Sendable, Equatable {
    /// `hostname`: the EHLO name and banner. Default: the host's fully qualified name
    /// (`gethostname(3)`, then `getaddrinfo(3)`'s canonical name; the bare name if that fails).
    public var hostname: String

    /// `spool_dir`: directory of `spool.sqlite`. Default `/var/spool/relayd`.
    public var spoolDir: String

    /// `run_dir`: directory of `control.sock`. Default `/run/relayd`.
    public var runDir: String

    /// `[[listener]]`: the listening sockets. Default: one `smtp` listener on `127.0.0.1:25`.
    public var listeners: [ListenerConfiguration]

    /// `[tls]`: the listener certificate; `nil` (absent) means no STARTTLS is offered.
    public var tls: TLSConfiguration?

    /// `[limits]`.
    public var limits: Limits

    /// `[relay]`.
    public var relay: RelayPolicy

    /// `[auth]`: `nil` (absent) means AUTH is not offered.
    public var auth: AuthConfiguration?

    /// `[delivery]`.
    public var delivery: DeliveryConfiguration

    /// `[[route]]`: transport rules, first match wins. Default none: MX delivery for all.
    public var routes: [Route]

    /// `[dns]`.
    public var dns: DNSConfiguration

    /// `[metrics]`.
    public var metrics: MetricsConfiguration

    /// `[log]`.
    public var log: LogConfiguration

    /// The default `spool_dir`.
    public static let defaultSpoolDir = "/var/spool/relayd"

    /// The default `run_dir`.
    public static let defaultRunDir = "/run/relayd"

    /// The configuration of an empty file: every default. The host's fully qualified name is
    /// looked up once per process (the lookup may query DNS).
    public init() {
        self.init(hostname: HostName.systemFullyQualified)
    }

    /// Every default, with the given host name (no host name lookup).
    /// - Parameter hostname: The EHLO name.
    public init(hostname: String) {
        self.hostname = hostname
        self.spoolDir = Self.defaultSpoolDir
        self.runDir = Self.defaultRunDir
        self.listeners = [.default]
        self.tls = nil
        self.limits = Limits()
        self.relay = RelayPolicy()
        self.auth = nil
        self.delivery = DeliveryConfiguration()
        self.routes = []
        self.dns = DNSConfiguration()
        self.metrics = MetricsConfiguration()
        self.log = LogConfiguration()
    }

    /// Where `<Postmaster>` mail and double-bounce notices go: `[relay] postmaster`, or
    /// `postmaster@<hostname>` when that is empty.
    public var postmasterAddress: String {
        self.relay.postmaster.isEmpty ? "postmaster@\(self.hostname)" : self.relay.postmaster
    }

    /// The first route covering `domain`, or `nil` for MX delivery.
    /// - Parameter domain: A recipient domain.
    /// - Returns: The route, if any.
    public func route(for domain: String) -> Route? {
        self.routes.first { $0.matches(domain) }
    }
}
