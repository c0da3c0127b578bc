/// A parsed SMTP command (RFC 5321 §4.1.1 and the extensions Relay speaks).
public enum SMTPCommand: Sendable, Hashable {
    case ehlo(String)
    case helo(String)
    /// MAIL FROM; `nil` sender is the null reverse-path `<>`.
    case mail(sender: Mailbox?, MailParameters)
    case rcpt(Mailbox, RecipientParameters)
    case data
    /// RFC 3030 BDAT: a chunk of `size` octets follows the command line.
    case bdat(size: Int, last: Bool)
    case rset
    case noop
    case quit
    case vrfy
    case expn
    case help
    case starttls
    /// RFC 4954 AUTH: mechanism, and the initial response if given.
    case auth(mechanism: String, initialResponse: String?)
}

/// How a command line failed to parse, with the reply it earns.
public struct SMTPCommandError: Error, Sendable, Hashable {
    public var reply: SMTPReply
    public init(_ reply: SMTPReply) { self.reply = reply }
}
