import SMTPCore

/// Mail that would come back to this relay (RFC 5321 §5.1): an MX or route host that is one
/// of our own listeners, or a server that greets with our own hostname. Postfix bounces such
/// mail at the first hop with "mail for D loops back to myself" (5.4.6) instead of letting it
/// circle until the hop count runs out; so do we.
public enum MailLoop {
    /// RFC 3463: routing loop detected.
    public static let status = "5.4.6"

    /// The text of the bounce, as Postfix words it.
    public static func reason(_ destination: String) -> String {
        "mail for \(destination) loops back to myself"
    }

    /// Whether a server's greeting or EHLO reply names it `hostname`: the first word of the
    /// first line (RFC 5321 §4.2: "220 domain …", "250 domain …"), compared without case and
    /// without a trailing dot.
    public static func announces(_ hostname: String, greeting: SMTPReply, ehlo: SMTPReply?) -> Bool {
        let own = canonical(hostname)
        guard !own.isEmpty else { return false }
        return [greeting, ehlo].contains { reply in
            guard let reply, let line = reply.lines.first, let name = line.split(separator: " ").first else { return false }
            return canonical(String(name)) == own
        }
    }

    /// The hosts to try when the ones at `loops` are this relay: only those before the first of
    /// ours, which for an MX list in preference order are the better MX hosts (a backup MX
    /// passes mail on only to better ones). Empty: the mail loops.
    public static func hostsBeforeSelf<Host>(_ hosts: [Host], isSelf: (Host) -> Bool) -> [Host] {
        guard let first = hosts.firstIndex(where: isSelf) else { return hosts }
        return Array(hosts[..<first])
    }

    private static func canonical(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
