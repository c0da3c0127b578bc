/// Size limits of the SMTP protocol, each citing where it comes from.
public enum SMTPLimits {
    /// RFC 5321 §4.5.3.1.4: a command line, including the verb and CRLF.
    public static let maximumCommandLineLength = 512
    /// RFC 5321 §4.5.3.1.6: a text line of the message, including CRLF.
    public static let maximumTextLineLength = 1000
    /// RFC 5321 §4.5.3.1.1: the local part of a mailbox.
    public static let maximumLocalPartLength = 64
    /// RFC 5321 §4.5.3.1.2: a domain name.
    public static let maximumDomainLength = 255
    /// RFC 5321 §4.5.3.1.3: a reverse-path or forward-path, including the angle brackets.
    public static let maximumPathLength = 256
    /// RFC 5321 §4.5.3.1.8: a server must accept at least this many recipients per transaction.
    public static let minimumRecipientBuffer = 100
    /// RFC 3461 §4.4: ENVID is at most 100 characters of xtext.
    public static let maximumEnvelopeIDLength = 100
    /// RFC 3461 §4.2: ORCPT is at most 500 characters.
    public static let maximumOriginalRecipientLength = 500
}
