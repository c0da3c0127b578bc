/// A transport rule (`[[route]]`): mail for these domains goes to these hosts instead of the
/// MX. The first route whose domains match wins; no match means MX delivery.
public struct Route: Sendable, Equatable {
    /// `domains`: the recipient domains this route covers. Required, not empty.
    public var domains: [DomainPattern]

    /// `hosts`: upstream hosts, tried in order. Required, not empty.
    public var hosts: [RouteHost]

    /// `tls`: TLS policy for these hosts; `nil` (absent) means `[delivery] tls`.
    public var tls: TLSPolicy?

    /// `implicit_tls`: TLS from the first byte (port 465 smarthosts, RFC 8314). Default `false`.
    public var implicitTLS: Bool

    /// `ca_file`: extra trust anchors for `verify`; `""` (default) means the system store.
    public var caFile: String

    /// `username`: AUTH name at the upstream; `""` (default) means no AUTH.
    public var username: String

    /// `password_file`: path of the file holding the AUTH password (only the path is kept here).
    /// Default `""`; set if and only if `username` is.
    public var passwordFile: String

    /// Creates a route.
    /// - Parameters:
    ///   - domains: Recipient domains covered.
    ///   - hosts: Upstream hosts, in order.
    ///   - tls: Default `nil`: `[delivery] tls`.
    ///   - implicitTLS: Default `false`.
    ///   - caFile: Default `""`: the system store.
    ///   - username: Default `""`: no AUTH.
    ///   - passwordFile: Default `""`.
    public init(
        domains: [DomainPattern],
        hosts: [RouteHost],
        tls: TLSPolicy? = nil,
        implicitTLS: Bool = false,
        caFile: String = "",
        username: String = "",
        passwordFile: String = ""
    ) {
        self.domains = domains
        self.hosts = hosts
        self.tls = tls
        self.implicitTLS = implicitTLS
        self.caFile = caFile
        self.username = username
        self.passwordFile = passwordFile
    }

    /// Whether this route covers `domain`.
    /// - Parameter domain: A recipient domain.
    /// - Returns: `true` when one of ``domains`` matches it.
    public func matches(_ domain: String) -> Bool {
        self.domains.contains { $0.matches(domain) }
    }
}
