/// One listening socket (`[[listener]]`).
public struct ListenerConfiguration: Sendable, Equatable {
    /// `address`: where to listen, `"host:port"` or `"[v6]:port"`. Required.
    public var address: ListenAddress

    /// `mode`: `smtp`, `submission` or `smtps` (implicit TLS). Default `smtp`.
    public var mode: ListenerMode

    /// `require_tls`: before TLS, only EHLO, HELO, STARTTLS, NOOP and QUIT are allowed
    /// (RFC 3207 §4). Default `false`. Needs `[tls]`.
    public var requireTLS: Bool

    /// `require_auth`: MAIL FROM needs a successful AUTH first. Default `true` for
    /// `submission` and `smtps`, `false` for `smtp`. Needs `[auth]` and `[tls]`.
    public var requireAuth: Bool

    /// `proxy_protocol`: expect a PROXY v1/v2 header, accepted only from
    /// `[relay] trusted_proxies`. Default `false`.
    public var proxyProtocol: Bool

    /// Creates a listener configuration.
    /// - Parameters:
    ///   - address: Where to listen.
    ///   - mode: What the listener speaks; default `smtp`.
    ///   - requireTLS: Default `false`.
    ///   - requireAuth: Default (`nil`): `true` for `submission` and `smtps`, `false` for `smtp`.
    ///   - proxyProtocol: Default `false`.
    public init(
        address: ListenAddress,
        mode: ListenerMode = .smtp,
        requireTLS: Bool = false,
        requireAuth: Bool? = nil,
        proxyProtocol: Bool = false
    ) {
        self.address = address
        self.mode = mode
        self.requireTLS = requireTLS
        self.requireAuth = requireAuth ?? Self.requiresAuthByDefault(mode)
        self.proxyProtocol = proxyProtocol
    }

    /// The listener used when the file has no `[[listener]]`: SMTP on `127.0.0.1:25`.
    public static let `default` = ListenerConfiguration(address: ListenAddress(host: "127.0.0.1", port: 25))

    /// Whether `require_auth` defaults to `true` for `mode` (submission ports, RFC 6409 §4.3).
    /// - Parameter mode: The listener mode.
    /// - Returns: `true` for `submission` and `smtps`.
    public static func requiresAuthByDefault(_ mode: ListenerMode) -> Bool {
        switch mode {
        case .smtp: return false
        case .submission, .smtps: return true
        }
    }
}
