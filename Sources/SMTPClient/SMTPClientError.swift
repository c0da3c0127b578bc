import SMTPCore

/// Why a conversation with a server ended without a reply to act on. All of them mean "try the
/// next host, then defer"; none is a reason to bounce.
public struct SMTPClientError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        case connectFailed
        case timeout
        case connectionClosed
        case protocolViolation
        /// The TLS handshake (or certificate verification) failed.
        case tlsFailed
    }

    public var kind: Kind
    public var reason: String

    public init(_ kind: Kind, _ reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var description: String { reason }
}
