/// Splitting `host:port`, `[v6-or-literal]:port` and bare hosts, shared by listen addresses,
/// route hosts and DNS servers.
package struct HostPort: Sendable, Equatable {
    /// The host, without brackets.
    package var host: String
    /// The port, or `nil` when none was written.
    package var port: Int?
    /// Whether the host was written in brackets.
    package var bracketed: Bool

    /// Splits `text`; returns `nil` when brackets do not balance, a port is not 0–65535 digits,
    /// or an IPv6 address is written without brackets and with a port-like tail.
    /// - Parameter text: `"host:port"`, `"[host]:port"`, `"host"` or `"[host]"`.
    package init?(_ text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            self.host = String(text[text.index(after: text.startIndex)..<close])
            self.bracketed = true
            let rest = text[text.index(after: close)...]
            if rest.isEmpty {
                self.port = nil
            } else {
                guard rest.hasPrefix(":"), let port = Self.parsePort(rest.dropFirst()) else { return nil }
                self.port = port
            }
            return
        }
        self.bracketed = false
        let colons = text.count(where: { $0 == ":" })
        switch colons {
        case 0:
            self.host = text
            self.port = nil
        case 1:
            // `text` contains exactly one colon.
            let colon = text.firstIndex(of: ":")!
            guard let port = Self.parsePort(text[text.index(after: colon)...]) else { return nil }
            self.host = String(text[..<colon])
            self.port = port
        default:
            // A bare IPv6 address, with no port.
            self.host = text
            self.port = nil
        }
    }

    private static func parsePort(_ text: Substring) -> Int? {
        guard (1...5).contains(text.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let port = Int(text), (0...65535).contains(port)
        else { return nil }
        return port
    }

    /// `host:port`, with brackets around an IPv6 host.
    /// - Parameters:
    ///   - host: A host name or address.
    ///   - port: The port.
    ///   - bracketed: Force brackets (route literals).
    /// - Returns: The joined text.
    package static func join(host: String, port: Int, bracketed: Bool = false) -> String {
        bracketed || host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}
