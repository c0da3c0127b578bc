/// Where a listener (or the metrics endpoint) binds: a host and a port.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// An IPv4 or IPv6 address (without brackets) or a host name such as `localhost`.
    public var host: String

    /// The TCP port, 0–65535; 0 asks the system for a free port (tests).
    public var port: Int

    /// Creates an address.
    /// - Parameters:
    ///   - host: An address or host name, IPv6 without brackets.
    ///   - port: 0–65535.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Whether binding both would clash: the same port on the same host, or on a wildcard
    /// address that covers the other (`0.0.0.0` covers IPv4, `::` covers both families on Linux).
    /// Port 0 (a free port, tests) never clashes.
    public func overlaps(_ other: ListenAddress) -> Bool {
        guard port == other.port, port != 0 else { return false }
        let (mine, theirs) = (IPAddress(host), IPAddress(other.host))
        if let mine, let theirs, (mine.unmappedIPv4 ?? mine) == (theirs.unmappedIPv4 ?? theirs) { return true }
        if mine == nil && theirs == nil && host.lowercased() == other.host.lowercased() { return true }
        return covers(other) || other.covers(self)
    }

    /// Whether a connection to `address`:`port` would reach this listener: the same port, and
    /// its own address, or any of the host's `localAddresses` (loopback always) when it binds
    /// a wildcard. A listener bound to a name counts for loopback when the name is `localhost`.
    public func receives(_ address: IPAddress, port: Int, localAddresses: [IPAddress]) -> Bool {
        guard self.port == port, port != 0 else { return false }
        let target = address.unmappedIPv4 ?? address
        let loopback = target.isIPv4 ? target.bytes[0] == 127 : target.bytes == [UInt8](repeating: 0, count: 15) + [1]
        guard let bound = IPAddress(host) else { return host.lowercased() == "localhost" && loopback }
        if bound.bytes.allSatisfy({ $0 == 0 }) {
            // 0.0.0.0 takes IPv4 only; :: takes both families (Linux binds it dual-stack).
            guard !bound.isIPv4 || target.isIPv4 else { return false }
            return loopback || localAddresses.contains { ($0.unmappedIPv4 ?? $0) == target }
        }
        return (bound.unmappedIPv4 ?? bound) == target
    }

    /// A wildcard address covers the other: `::` every address (Linux binds it dual-stack),
    /// `0.0.0.0` every IPv4 address (and a host name, which may resolve to one).
    private func covers(_ other: ListenAddress) -> Bool {
        guard let address = IPAddress(host), address.bytes.allSatisfy({ $0 == 0 }) else { return false }
        if !address.isIPv4 { return true }
        guard let target = IPAddress(other.host) else { return true }
        return (target.unmappedIPv4 ?? target).isIPv4
    }

    /// Parses `"0.0.0.0:25"`, `"[::]:587"` or `"localhost:2525"`. The port is required.
    /// - Parameter text: The address text.
    /// - Throws: ``ConfigurationError`` (reason only) when the text is not of that form.
    public init(parsing text: String) throws(ConfigurationError) {
        let problem = ConfigurationError(
            reason: "expected host:port such as \"0.0.0.0:25\", \"[::]:587\" or \"localhost:2525\","
                + " got \(TOMLText.quoted(text))"
        )
        guard let split = HostPort(text), let port = split.port else {
            if let split = HostPort(text), IPAddress(split.host) != nil, split.host.contains(":") {
                throw ConfigurationError(
                    reason: "put an IPv6 address in brackets and add a port, as in \"[::1]:25\";"
                        + " got \(TOMLText.quoted(text))"
                )
            }
            throw problem
        }
        if split.bracketed {
            guard let address = IPAddress(split.host), !address.isIPv4 else { throw problem }
        } else {
            guard IPAddress(split.host) != nil || HostName.isValid(split.host) else { throw problem }
        }
        self.host = split.host
        self.port = port
    }

    /// `host:port`, with the host in brackets when it is an IPv6 address: `[::]:587`.
    public var description: String { HostPort.join(host: self.host, port: self.port) }
}
