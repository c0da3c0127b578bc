/// An IPv4 or IPv6 network in CIDR notation, as in `[relay] allow_networks` and `trusted_proxies`.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The first address of the network (host bits all zero).
    public private(set) var address: IPAddress

    /// The number of leading bits that make up the network: 0–32 for IPv4, 0–128 for IPv6.
    public private(set) var prefixLength: Int

    /// Parses `"10.0.0.0/8"` or `"::1/128"`; a bare address means a single host (`/32` or `/128`).
    /// An address with bits set past the prefix (`10.0.0.1/8`) is refused as a likely typo.
    /// - Parameter cidr: The network text.
    public init?(_ cidr: String) {
        guard let network = try? Self(parsing: cidr) else { return nil }
        self = network
    }

    /// Creates a network from an address and prefix length.
    /// - Parameters:
    ///   - address: The network address; bits past the prefix must be zero.
    ///   - prefixLength: 0–32 for IPv4, 0–128 for IPv6.
    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.bytes.count * 8).contains(prefixLength),
            Self.hostBitsAreZero(address.bytes, prefixLength: prefixLength)
        else { return nil }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Parses CIDR text, with a reason when it is not valid.
    /// - Parameter cidr: The network text.
    /// - Throws: ``ConfigurationError`` whose reason says what is wrong (no file or key).
    package init(parsing cidr: String) throws(ConfigurationError) {
        let parts = cidr.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = IPAddress(String(parts[0])) else {
            throw ConfigurationError(
                reason: "expected a network such as 192.0.2.0/24 or 2001:db8::/32, got \(TOMLText.quoted(cidr))"
            )
        }
        let maximum = address.bytes.count * 8
        var prefixLength = maximum
        if parts.count == 2 {
            guard parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) }), let length = Int(parts[1]),
                (0...maximum).contains(length)
            else {
                throw ConfigurationError(
                    reason: "the prefix length in \(TOMLText.quoted(cidr)) must be 0 to \(maximum)"
                )
            }
            prefixLength = length
        }
        guard Self.hostBitsAreZero(address.bytes, prefixLength: prefixLength) else {
            let masked = Self.masked(address.bytes, prefixLength: prefixLength)
            // `masked` has the same byte count as a valid address.
            let network = IPAddress(bytes: masked).map { "\($0)/\(prefixLength)" } ?? ""
            throw ConfigurationError(
                reason: "\(TOMLText.quoted(cidr)) has host bits set; did you mean \(TOMLText.quoted(network))?"
            )
        }
        self.address = address
        self.prefixLength = prefixLength
    }

    /// Whether `address` is inside this network. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
    /// as a dual-stack socket reports IPv4 clients) is matched against IPv4 networks, and an IPv4
    /// address against IPv6 networks as its mapped form.
    /// - Parameter address: The address to test.
    /// - Returns: `true` when the first ``prefixLength`` bits agree.
    public func contains(_ address: IPAddress) -> Bool {
        var candidate = address.bytes
        if self.address.bytes.count == 4, candidate.count == 16 {
            guard let v4 = address.unmappedIPv4 else { return false }
            candidate = v4.bytes
        } else if self.address.bytes.count == 16, candidate.count == 4 {
            candidate = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF] + candidate
        }
        guard candidate.count == self.address.bytes.count else { return false }
        return Self.masked(candidate, prefixLength: self.prefixLength) == self.address.bytes
    }

    /// `address/prefixLength`, e.g. `127.0.0.0/8`, `::1/128`.
    public var description: String { "\(self.address)/\(self.prefixLength)" }

    private static func masked(_ bytes: [UInt8], prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsHere = min(max(prefixLength - index * 8, 0), 8)
            return bitsHere == 0 ? 0 : byte & ~UInt8(truncatingIfNeeded: 0xFF >> bitsHere)
        }
    }

    private static func hostBitsAreZero(_ bytes: [UInt8], prefixLength: Int) -> Bool {
        Self.masked(bytes, prefixLength: prefixLength) == bytes
    }
}
