/// The listener's certificate (`[tls]`); without it, STARTTLS is not offered.
public struct TLSConfiguration: Sendable, Equatable {
    /// `cert`: path of the PEM certificate chain, leaf first. Required.
    public var cert: String

    /// `key`: path of the PEM private key. Required.
    public var key: String

    /// `min_version`: `"1.2"` or `"1.3"`. Default `"1.2"`.
    public var minVersion: TLSVersion

    /// Creates a TLS configuration.
    /// - Parameters:
    ///   - cert: Certificate chain file.
    ///   - key: Private key file.
    ///   - minVersion: Default TLS 1.2.
    public init(cert: String, key: String, minVersion: TLSVersion = .v1_2) {
        self.cert = cert
        self.key = key
        self.minVersion = minVersion
    }
}
