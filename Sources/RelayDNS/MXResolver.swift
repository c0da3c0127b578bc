import Foundation

/// One host to try, with its addresses in the order to try them.
public struct DeliveryHost: Sendable, Hashable {
    public var name: String
    public var preference: Int
    /// IP addresses as text.
    public var addresses: [String]

    public init(name: String, preference: Int, addresses: [String]) {
        self.name = name
        self.preference = preference
        self.addresses = addresses
    }
}

/// The outcome of finding where a domain's mail goes (RFC 5321 §5.1).
public enum MXLookupResult: Sendable, Hashable {
    /// Hosts in the order to try them.
    case hosts([DeliveryHost])
    /// The domain cannot receive mail: bounce with this enhanced status.
    case permanent(status: String, reason: String)
    /// Try again later.
    case temporary(reason: String)
}

/// Finds the hosts for a domain: MX records in preference order, random among equal preference;
/// the domain's own A/AAAA when it has no MX (implicit MX); a null MX (RFC 7505) or NXDOMAIN is
/// permanent; SERVFAIL and timeouts are temporary.
public struct MXResolver: Sendable {
    private let resolver: DNSResolver

    public init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    /// - Parameter domain: the recipient domain (or an address literal `[192.0.2.1]`).
    public func resolve(_ domain: String) async -> MXLookupResult {
        if domain.hasPrefix("["), domain.hasSuffix("]") {
            var inner = String(domain.dropFirst().dropLast())
            if inner.lowercased().hasPrefix("ipv6:") { inner = String(inner.dropFirst(5)) }
            if Self.isAddressLiteral(inner) {
                return .hosts([DeliveryHost(name: domain, preference: 0, addresses: [inner])])
            }
            // A bracketed name (a route's `[host]`) skips the MX lookup, but its addresses come
            // from the configured servers like every name Relay resolves, never the system's.
            let (addresses, failure) = await addresses(of: inner)
            if !addresses.isEmpty { return .hosts([DeliveryHost(name: domain, preference: 0, addresses: addresses)]) }
            if let failure { return .temporary(reason: failure) }
            return .permanent(status: "5.4.4", reason: "no address for \(inner)")
        }
        let mx: DNSMessage
        do {
            mx = try await resolver.query(domain, .mx)
        } catch {
            return error.isTemporary
                ? .temporary(reason: "MX lookup of \(domain) failed: \(error)")
                : .permanent(status: "5.1.2", reason: "domain \(domain) not found")
        }
        let plan: [(name: String, preference: Int)]
        switch MXOrdering.plan(for: domain, answer: mx) {
        case .permanent(let status, let reason): return .permanent(status: status, reason: reason)
        case .temporary(let reason): return .temporary(reason: reason)
        case .hosts(let hosts): plan = hosts
        }
        var result: [DeliveryHost] = []
        var temporaryFailure: String?
        for host in plan {
            let (addresses, failure) = await addresses(of: host.name)
            if let failure { temporaryFailure = failure }
            if !addresses.isEmpty {
                result.append(DeliveryHost(name: host.name, preference: host.preference, addresses: addresses))
            }
        }
        if !result.isEmpty { return .hosts(result) }
        if let temporaryFailure { return .temporary(reason: temporaryFailure) }
        return .permanent(status: "5.4.4", reason: "no address for the mail hosts of \(domain)")
    }

    /// An IPv4 or IPv6 address in text form (what connect() takes without a lookup).
    static func isAddressLiteral(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// IPv4 then IPv6 addresses of a host; a temporary failure is reported when neither family answered.
    private func addresses(of host: String) async -> ([String], String?) {
        async let v4 = lookup(host, .a)
        async let v6 = lookup(host, .aaaa)
        let (four, six) = await (v4, v6)
        let addresses = four.addresses + six.addresses
        let failure = addresses.isEmpty ? (four.temporaryFailure ?? six.temporaryFailure) : nil
        return (addresses, failure)
    }

    private func lookup(_ host: String, _ type: DNSRecordType) async -> (addresses: [String], temporaryFailure: String?) {
        do {
            let answer = try await resolver.query(host, type)
            switch answer.responseCode {
            case .noError, .nameError:
                return (MXOrdering.addresses(in: answer), nil)
            default:
                return ([], "\(type) lookup of \(host) failed: \(answer.responseCode)")
            }
        } catch {
            return ([], error.isTemporary ? "\(type) lookup of \(host) failed: \(error)" : nil)
        }
    }
}

/// The pure part of MX resolution, separate so it can be tested on answers without a server.
public enum MXOrdering {
    public enum Plan: Sendable, Hashable {
        case hosts([(name: String, preference: Int)])
        case permanent(status: String, reason: String)
        case temporary(reason: String)

        public static func == (lhs: Plan, rhs: Plan) -> Bool {
            switch (lhs, rhs) {
            case (.hosts(let a), .hosts(let b)): a.map(\.name) == b.map(\.name) && a.map(\.preference) == b.map(\.preference)
            case (.permanent(let a, let b), .permanent(let c, let d)): a == c && b == d
            case (.temporary(let a), .temporary(let b)): a == b
            default: false
            }
        }

        public func hash(into hasher: inout Hasher) {
            switch self {
            case .hosts(let hosts): hasher.combine(hosts.map(\.name))
            case .permanent(let status, _): hasher.combine(status)
            case .temporary(let reason): hasher.combine(reason)
            }
        }
    }

    /// - Parameters:
    ///   - domain: the domain that was asked for.
    ///   - answer: the MX answer.
    ///   - shuffle: orders hosts of equal preference (random by default, RFC 5321 §5.1).
    public static func plan(
        for domain: String, answer: DNSMessage,
        shuffle: ([(name: String, preference: Int)]) -> [(name: String, preference: Int)] = { $0.shuffled() }
    ) -> Plan {
        switch answer.responseCode {
        case .noError:
            break
        case .nameError:
            return .permanent(status: "5.1.2", reason: "domain \(domain) not found")
        default:
            return .temporary(reason: "MX lookup of \(domain) failed: \(answer.responseCode)")
        }
        let exchanges: [(name: String, preference: Int)] = answer.answers.compactMap { record in
            if case .mx(let preference, let exchange) = record.data { return (exchange, Int(preference)) }
            return nil
        }
        if exchanges.isEmpty {
            // RFC 5321 §5.1: no MX records, so the domain itself is the implicit MX.
            return .hosts([(domain, 0)])
        }
        // RFC 7505 §3: a single MX of "." with preference 0 says the domain takes no mail.
        if exchanges.contains(where: { $0.name == "." }) {
            return .permanent(status: "5.1.10", reason: "domain \(domain) accepts no mail (null MX)")
        }
        let preferences = Set(exchanges.map(\.preference)).sorted()
        var ordered: [(name: String, preference: Int)] = []
        for preference in preferences {
            ordered += shuffle(exchanges.filter { $0.preference == preference })
        }
        return .hosts(ordered)
    }

    /// The addresses of an A or AAAA answer, as text.
    public static func addresses(in answer: DNSMessage) -> [String] {
        answer.answers.compactMap { record in
            switch record.data {
            case .a(let bytes): return bytes.map(String.init).joined(separator: ".")
            case .aaaa(let bytes): return ipv6Text(bytes)
            default: return nil
            }
        }
    }

    static func ipv6Text(_ bytes: [UInt8]) -> String {
        stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
            .joined(separator: ":")
    }
}
