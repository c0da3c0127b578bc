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

    /// The hosts to try when some are this relay: only those with a better (lower) preference
    /// than the best of ours, as Postfix does, so that a backup MX passes mail on only to better
    /// MX hosts and hosts of the same preference as ours (listed in random order) are never
    /// tried. Empty: the mail loops.
    public static func hostsBetterThanSelf<Host>(
        _ hosts: [Host], preference: (Host) -> Int, isSelf: (Host) -> Bool
    ) -> [Host] {
        guard let ours = hosts.filter(isSelf).map(preference).min() else { return hosts }
        return hosts.filter { preference($0) < ours }
    }

    private static func canonical(_ name: String) -> String {
        var name = name.lowercased()
        if name.hasSuffix(".") { name.removeLast() }
        return name
    }
}
