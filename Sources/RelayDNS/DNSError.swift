/// Why a lookup gave no usable answer. `isTemporary` decides between deferral and bounce.
public struct DNSError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// The name does not exist (NXDOMAIN): permanent.
        case nameNotFound
        /// SERVFAIL, timeout, refused, unreachable servers: temporary.
        case serverFailure
        /// An answer that could not be parsed: temporary (another server may answer properly).
        case malformed
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var isTemporary: Bool { kind != .nameNotFound }
    public var description: String { reason }
}
