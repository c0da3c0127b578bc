/// The resolver (`[dns]`).
public struct DNSConfiguration: Sendable, Equatable {
    /// `servers`: name servers, each `"ip"`, `"ip:port"` or `"[ipv6]:port"`; empty (default)
    /// means those of `/etc/resolv.conf`.
    public var servers: [String]

    /// `timeout`: per query. Default 5 seconds.
    public var timeout: Duration

    /// Creates a DNS configuration; every parameter defaults to the documented default.
    public init(servers: [String] = [], timeout: Duration = .seconds(5)) {
        self.servers = servers
        self.timeout = timeout
    }
}
