/// An IPv4 or IPv6 address, as written in `allow_networks`, `trusted_proxies`, `[dns] servers`
/// and route literals.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// The address in network byte order: 4 bytes for IPv4, 16 for IPv6.
    public var bytes: [UInt8]

    /// Parses dotted-quad IPv4 (`192.0.2.1`) or IPv6 text (RFC 4291 §2.2, including `::` and
    /// an embedded IPv4 tail such as `::ffff:192.0.2.1`). Zone ids (`%eth0`) and IPv4 parts
    /// with leading zeros (ambiguous: octal to some parsers) are refused.
    /// - Parameter text: The address text.
    public init?(_ text: String) {
        if let v4 = Self.parseIPv4(Substring(text)) {
            self.bytes = v4
        } else if let v6 = Self.parseIPv6(Substring(text)) {
            self.bytes = v6
        } else {
            return nil
        }
    }

    /// Creates an address from its bytes.
    /// - Parameter bytes: 4 bytes (IPv4) or 16 bytes (IPv6), network byte order; any other
    ///   count gives `nil`.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Whether this is an IPv4 address (4 bytes).
    public var isIPv4: Bool { self.bytes.count == 4 }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2),
    /// or `nil` when this is not one.
    public var unmappedIPv4: IPAddress? {
        guard self.bytes.count == 16, self.bytes[0..<10].allSatisfy({ $0 == 0 }),
            self.bytes[10] == 0xFF, self.bytes[11] == 0xFF
        else { return nil }
        return IPAddress(bytes: Array(self.bytes[12..<16]))
    }

    /// Dotted quad for IPv4; RFC 5952 canonical text for IPv6 (lower case, longest run of zero
    /// groups shortened to `::`, IPv4-mapped addresses as `::ffff:a.b.c.d`).
    public var description: String {
        if self.bytes.count == 4 {
            return self.bytes.map(String.init).joined(separator: ".")
        }
        guard self.bytes.count == 16 else { return "<invalid address>" }
        if let v4 = self.unmappedIPv4 { return "::ffff:\(v4)" }
        let groups = (0..<8).map { UInt16(self.bytes[2 * $0]) << 8 | UInt16(self.bytes[2 * $0 + 1]) }
        // RFC 5952 §4.2: shorten the longest run (the first of equals) of two or more zero groups.
        var best = (start: -1, length: 1)
        var index = 0
        while index < 8 {
            guard groups[index] == 0 else {
                index += 1
                continue
            }
            let start = index
            while index < 8, groups[index] == 0 { index += 1 }
            if index - start > best.length { best = (start, index - start) }
        }
        func hex(_ slice: ArraySlice<UInt16>) -> String {
            slice.map { String($0, radix: 16) }.joined(separator: ":")
        }
        guard best.start >= 0 else { return hex(groups[...]) }
        return hex(groups[..<best.start]) + "::" + hex(groups[(best.start + best.length)...])
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard (1...3).contains(part.count), part.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
                part.count == 1 || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        // Groups before and after a `::` (at most one), the last possibly a dotted IPv4 tail.
        let halves = text.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ half: Substring, allowTail: Bool) -> [UInt8]? {
            if half.isEmpty { return [] }
            let parts = half.split(separator: ":", omittingEmptySubsequences: false)
            var bytes: [UInt8] = []
            for (position, part) in parts.enumerated() {
                if allowTail, position == parts.count - 1, part.contains(".") {
                    guard let v4 = parseIPv4(part) else { return nil }
                    bytes += v4
                    continue
                }
                guard (1...4).contains(part.count), let value = UInt16(part, radix: 16),
                    part.utf8.allSatisfy({ Scanner.isHexDigit($0) })
                else { return nil }
                bytes += [UInt8(value >> 8), UInt8(value & 0xFF)]
            }
            return bytes
        }
        if halves.count == 1 {
            guard let all = groups(halves[0], allowTail: true), all.count == 16 else { return nil }
            return all
        }
        guard let head = groups(halves[0], allowTail: false), let tail = groups(halves[1], allowTail: true),
            head.count + tail.count <= 14  // `::` stands for at least one group
        else { return nil }
        return head + [UInt8](repeating: 0, count: 16 - head.count - tail.count) + tail
    }

    private enum Scanner {
        static func isHexDigit(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"),
                UInt8(ascii: "A")...UInt8(ascii: "F"):
                return true
            default:
                return false
            }
        }
    }
}

extension Substring {
    /// Splits on a multi-character separator (no Foundation here).
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var result: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            result.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        result.append(rest)
        return result
    }
}
