/// Which recipient domains a `[[route]]` or `[relay] accept_domains` entry covers.
///
/// - `"example.com"`: that domain only (case-insensitive);
/// - `".example.com"`: its subdomains only (`a.example.com`, `b.a.example.com`), not
///   `example.com` itself;
/// - `"*"`: every domain.
public struct DomainPattern: Sendable, Hashable, CustomStringConvertible {
    private enum Kind: Hashable, Sendable {
        case domain(String)
        case subdomains(of: String)
        case any
    }

    private var kind: Kind

    /// Every domain (`"*"`).
    public static let any = DomainPattern(kind: .any)

    private init(kind: Kind) {
        self.kind = kind
    }

    /// Parses a pattern. Case is ignored and one trailing dot is dropped.
    /// - Parameter text: `"example.com"`, `".example.com"` or `"*"`.
    /// - Throws: ``ConfigurationError`` (reason only) when the text is none of these forms.
    public init(parsing text: String) throws(ConfigurationError) {
        if text == "*" {
            self.kind = .any
            return
        }
        var name = Self.normalized(text)
        let subdomains = name.hasPrefix(".")
        if subdomains { name.removeFirst() }
        guard HostName.isValid(name, allowUnicode: true) else {
            var hint = ""
            if text.hasPrefix("*.") {
                hint = " (write \(TOMLText.quoted(String(text.dropFirst()))) for the subdomains of a domain)"
            }
            throw ConfigurationError(
                reason: "expected a domain such as \"example.com\", \".example.com\" (its subdomains) or \"*\","
                    + " got \(TOMLText.quoted(text))\(hint)"
            )
        }
        self.kind = subdomains ? .subdomains(of: name) : .domain(name)
    }

    /// Whether this is `"*"`.
    public var matchesEverything: Bool { self.kind == .any }

    /// Whether `domain` is covered by this pattern.
    /// - Parameter domain: A recipient domain; case and one trailing dot are ignored.
    /// - Returns: `true` when covered.
    public func matches(_ domain: String) -> Bool {
        switch self.kind {
        case .any:
            return true
        case .domain(let name):
            return Self.normalized(domain) == name
        case .subdomains(let parent):
            let candidate = Self.normalized(domain)
            return candidate.hasSuffix("." + parent) && candidate.count > parent.count + 1
        }
    }

    /// The pattern as written in the configuration (lower case).
    public var description: String {
        switch self.kind {
        case .any: return "*"
        case .domain(let name): return name
        case .subdomains(let parent): return "." + parent
        }
    }

    private static func normalized(_ domain: String) -> String {
        var name = domain.lowercased()
        if name.hasSuffix("."), name.count > 1 { name.removeLast() }
        return name
    }
}
