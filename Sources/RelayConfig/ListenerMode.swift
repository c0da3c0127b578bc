/// What a `[[listener]]` speaks (`mode`).
public enum ListenerMode: String, Sendable, CaseIterable {
    /// Port 25 relay/MX traffic; STARTTLS offered when `[tls]` is set (RFC 5321, RFC 3207).
    case smtp
    /// Message submission from clients, normally port 587; AUTH required by default (RFC 6409).
    case submission
    /// Submission with TLS from the first byte, normally port 465 (RFC 8314 §3.3).
    case smtps
}
