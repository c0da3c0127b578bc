/// One upstream host of a `[[route]]`: `"smtp.provider.net:587"`, `"smtp.provider.net"`
/// (port 25) or `"[192.0.2.1]:25"`.
public struct RouteHost: Sendable, Hashable, CustomStringConvertible {
    /// A host name or IP address (without brackets).
    public var host: String

    /// The TCP port, 1–65535; 25 when none is written.
    public var port: Int

    /// Whether to connect to ``host`` itself, with no MX lookup: it was written in brackets
    /// (`"[192.0.2.1]:25"`, `"[mx.example.com]"`, as Postfix's `relayhost`) or is an IP address.
    public var isLiteral: Bool

    /// The port used when a route host names none (RFC 5321 §4.5.4 "SMTP port").
    public static let defaultPort = 25

    /// Creates a route host.
    /// - Parameters:
    ///   - host: A host name or IP address, without brackets.
    ///   - port: 1–65535.
    ///   - isLiteral: Connect to `host` itself, with no MX lookup.
    public init(host: String, port: Int = RouteHost.defaultPort, isLiteral: Bool = false) {
        self.host = host
        self.port = port
        self.isLiteral = isLiteral || IPAddress(host) != nil
    }

    /// Parses `"host:port"`, `"host"`, `"[host-or-address]:port"` or `"[host-or-address]"`.
    /// - Parameter text: The route host text.
    /// - Throws: ``ConfigurationError`` (reason only) when the text is none of these forms.
    public init(parsing text: String) throws(ConfigurationError) {
        let problem = ConfigurationError(
            reason: "expected a host such as \"smtp.example.net:587\", \"smtp.example.net\" or"
                + " \"[192.0.2.1]:25\", got \(TOMLText.quoted(text))"
        )
        guard let split = HostPort(text) else { throw problem }
        if !split.bracketed, split.port == nil, split.host.contains(":") {
            throw ConfigurationError(
                reason: "put an IPv6 address in brackets, as in \"[2001:db8::1]:25\"; got \(TOMLText.quoted(text))"
            )
        }
        guard IPAddress(split.host) != nil || HostName.isValid(split.host) else { throw problem }
        let port = split.port ?? Self.defaultPort
        guard port != 0 else {
            throw ConfigurationError(reason: "port must be 1 to 65535 in \(TOMLText.quoted(text))")
        }
        self.init(host: split.host, port: port, isLiteral: split.bracketed)
    }

    /// `host:port`, or `[host]:port` for a literal.
    public var description: String {
        HostPort.join(host: self.host, port: self.port, bracketed: self.isLiteral)
    }
}
