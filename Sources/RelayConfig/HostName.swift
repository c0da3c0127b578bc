#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Host and domain names: syntax checks and the host's own fully qualified name.
package enum HostName {
    /// Whether `name` is a syntactically valid host name: dot-separated labels of letters,
    /// digits and hyphens, no label starting or ending with a hyphen, labels of 1–63 octets,
    /// 253 octets in all (RFC 1035 §2.3.1, RFC 1123 §2.1). With `allowUnicode`, labels may also
    /// hold non-ASCII characters (U-labels, RFC 5890), as SMTPUTF8 domains do.
    /// - Parameters:
    ///   - name: The name, without a trailing dot.
    ///   - allowUnicode: Whether non-ASCII characters are allowed in labels.
    /// - Returns: `true` when valid.
    package static func isValid(_ name: String, allowUnicode: Bool = false) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else {
                return false
            }
            for scalar in label.unicodeScalars {
                switch scalar {
                case "a"..."z", "A"..."Z", "0"..."9", "-":
                    continue
                default:
                    guard allowUnicode, scalar.value > 0x7F else { return false }
                }
            }
        }
        return true
    }

    /// The host's fully qualified name: `gethostname(3)`, then the canonical name that
    /// `getaddrinfo(3)` with `AI_CANONNAME` finds for it; the bare host name when that fails.
    /// Looked up once per process (the lookup may query DNS).
    package static let systemFullyQualified: String = lookUpFullyQualified()

    private static func lookUpFullyQualified() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let shortName = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard !shortName.isEmpty else { return "localhost" }

        var hints = addrinfo()
        hints.ai_flags = AI_CANONNAME
        hints.ai_family = AF_UNSPEC
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(shortName, nil, &hints, &result) == 0, let first = result else { return shortName }
        defer { freeaddrinfo(first) }
        guard let canonical = first.pointee.ai_canonname else { return shortName }
        let name = String(cString: canonical)
        return name.isEmpty ? shortName : name
    }
}
