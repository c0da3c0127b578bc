import SMTPCore

/// What a server's reply to MAIL, RCPT or the end of data means for a recipient.
public enum ReplyOutcome: Sendable, Hashable {
    case delivered(status: String)
    case deferred(status: String)
    case bounced(status: String)

    /// Maps a reply: `2xx` delivered, `4xx` deferred, `5xx` bounced. The status is the reply's
    /// enhanced code, or the class default (`2.0.0`, `4.0.0`, `5.0.0`) when it has none.
    public init(_ reply: SMTPReply) {
        let status = reply.enhancedCode?.description ?? "\(reply.code / 100).0.0"
        switch reply.code {
        case 200..<300: self = .delivered(status: status)
        case 400..<500: self = .deferred(status: status)
        default: self = .bounced(status: status)
        }
    }

    /// The reply in one line, as logs and DSNs quote it.
    public static func text(of reply: SMTPReply) -> String {
        let head = "\(reply.code)" + (reply.enhancedCode.map { " \($0)" } ?? "")
        return ([head + (reply.lines.first.map { $0.isEmpty ? "" : " \($0)" } ?? "")] + reply.lines.dropFirst())
            .joined(separator: " ")
    }
}
