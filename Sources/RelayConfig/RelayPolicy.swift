/// Who may relay, and which domains anyone may send to (`[relay]`).
public struct RelayPolicy: Sendable, Equatable {
    /// `allow_networks`: clients that may relay to any domain. Default `127.0.0.0/8`, `::1/128`.
    public var allowNetworks: [IPNetwork]

    /// `accept_domains`: recipient domains anyone may send to (backup MX, inbound). Patterns as
    /// in `[[route]] domains`, but `"*"` is refused: it would make an open relay. Default none.
    public var acceptDomains: [DomainPattern]

    /// `postmaster`: where `<Postmaster>` mail and double-bounce notices go. Default `""`,
    /// meaning `postmaster@<hostname>` (see ``RelayConfiguration/postmasterAddress``).
    public var postmaster: String

    /// `trusted_proxies`: sources allowed to send PROXY headers. Default none.
    public var trustedProxies: [IPNetwork]

    /// The default `allow_networks`: loopback only.
    public static let defaultAllowNetworks: [IPNetwork] = [
        // Both literals are valid CIDR networks.
        IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!,
    ]

    /// Creates a relay policy; every parameter defaults to the documented default.
    public init(
        allowNetworks: [IPNetwork] = RelayPolicy.defaultAllowNetworks,
        acceptDomains: [DomainPattern] = [],
        postmaster: String = "",
        trustedProxies: [IPNetwork] = []
    ) {
        self.allowNetworks = allowNetworks
        self.acceptDomains = acceptDomains
        self.postmaster = postmaster
        self.trustedProxies = trustedProxies
    }
}
