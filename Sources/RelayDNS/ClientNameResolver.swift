import Foundation
import Synchronization

/// Finds the name to put in a `Received:` header for a client (RFC 5321 §4.4): its reverse-DNS
/// name when forward-confirmed (the PTR name resolves back to the address), else `unknown`.
/// Answers are remembered for a while, and lookups of the same address in flight are shared,
/// so a busy client costs one lookup, not one per connection.
public final class ClientNameResolver: Sendable {
    private let resolver: DNSResolver
    private let cache = Mutex<[String: (name: String, expires: Double)]>([:])
    private let inFlight = Mutex<[String: [CheckedContinuation<String, Never>]]>([:])

    /// How long a name (or `unknown`) is kept.
    static let lifetime: Double = 300
    static let maximumEntries = 10_000

    public init(resolver: DNSResolver) {
        self.resolver = resolver
    }

    /// - Parameter address: the client's IP address as text.
    /// - Returns: the forward-confirmed name, or `unknown`. Loopback clients are looked up too:
    ///   `[dns]` may name a server that answers for them, and tests rely on it.
    public func name(for address: String) async -> String {
        if let known = knownName(for: address) { return known }
        let first = inFlight.withLock { waiting -> Bool in
            if waiting[address] != nil { return false }
            waiting[address] = []
            return true
        }
        guard first else {
            return await withCheckedContinuation { continuation in
                let late = inFlight.withLock { waiting -> Bool in
                    guard waiting[address] != nil else { return true }
                    waiting[address]!.append(continuation)
                    return false
                }
                if late {  // the lookup finished between the two checks: its result is cached
                    continuation.resume(returning: cache.withLock { $0[address]?.name } ?? "unknown")
                }
            }
        }
        let name = await lookup(address)
        cache.withLock { cache in
            if cache.count >= Self.maximumEntries { cache.removeAll() }
            cache[address] = (name, Date().timeIntervalSince1970 + Self.lifetime)
        }
        for waiter in inFlight.withLock({ $0.removeValue(forKey: address) ?? [] }) { waiter.resume(returning: name) }
        return name
    }

    /// The name when it is remembered, else nil.
    public func knownName(for address: String) -> String? {
        let now = Date().timeIntervalSince1970
        if let cached = cache.withLock({ $0[address] }), cached.expires > now { return cached.name }
        return nil
    }

    private func lookup(_ address: String) async -> String {
        guard let reverse = Self.reverseName(address),
            let answer = try? await resolver.query(reverse, .ptr)
        else { return "unknown" }
        let names = answer.answers.compactMap { record -> String? in
            if case .ptr(let name) = record.data { return name }
            return nil
        }
        let canonicalAddress = Self.canonical(address)
        for name in names.prefix(3) {
            let type: DNSRecordType = address.contains(":") ? .aaaa : .a
            guard let forward = try? await resolver.query(name, type) else { continue }
            if MXOrdering.addresses(in: forward).map(Self.canonical).contains(canonicalAddress) {
                return DNSMessage.canonical(name)
            }
        }
        return "unknown"
    }

    /// `4.3.2.1.in-addr.arpa` or the nibble form under `ip6.arpa` (RFC 3596 §2.5).
    static func reverseName(_ address: String) -> String? {
        var v4 = in_addr()
        if inet_pton(AF_INET, address, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return bytes.reversed().map(String.init).joined(separator: ".") + ".in-addr.arpa"
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, address, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            // Least significant nibble first: the last byte's low nibble, then its high one, …
            let nibbles = bytes.reversed().flatMap { [String($0 & 0x0F, radix: 16), String($0 >> 4, radix: 16)] }
            return nibbles.joined(separator: ".") + ".ip6.arpa"
        }
        return nil
    }

    /// The address in one spelling, for comparing IPv6 texts written differently.
    static func canonical(_ address: String) -> String {
        var v6 = in6_addr()
        guard address.contains(":"), inet_pton(AF_INET6, address, &v6) == 1 else { return address }
        return withUnsafeBytes(of: &v6) { Array($0) }.map { String($0, radix: 16) }.joined(separator: ":")
    }
}
