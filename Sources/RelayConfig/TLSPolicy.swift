/// How the worker uses TLS towards an upstream host (`[delivery] tls`, `[[route]] tls`).
public enum TLSPolicy: String, Sendable, CaseIterable {
    /// Never STARTTLS.
    case none
    /// STARTTLS when offered, without checking the certificate; plaintext otherwise (RFC 3207).
    case opportunistic
    /// STARTTLS must succeed, certificate not checked; otherwise the host is skipped.
    case required
    /// STARTTLS must succeed and the certificate must verify for the host name (RFC 6125).
    case verify
}
