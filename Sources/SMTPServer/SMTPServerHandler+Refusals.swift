import Logging
import SMTPCore

/// One log line per refused MAIL, RCPT, DATA, BDAT or message: the facts of Postfix's
/// `NOQUEUE: reject:` line (client, helo, from, to, the reply), so that an admin can answer
/// "why was my mail refused" from the log alone (issue 12).
extension SMTPServerHandler {
    /// Logs `action` when it refuses the command `line`.
    /// - Parameter sender: the transaction's reverse-path before the command, if one was open.
    func logIfRefused(_ line: SMTPCommandLine, sender: String?, _ action: SMTPServerAction) {
        guard case .line(let bytes) = line, let reply = Self.refusal(in: action) else { return }
        let text = String(decoding: bytes, as: UTF8.self)
        let verb = text.prefix(4).uppercased()
        var metadata: Logger.Metadata = [:]
        switch verb {
        case "MAIL": metadata["from"] = "\(Self.path(after: "FROM:", in: text) ?? "?")"
        case "RCPT":
            metadata["from"] = "\(sender ?? "?")"
            metadata["to"] = "\(Self.path(after: "TO:", in: text) ?? "?")"
        case "DATA", "BDAT": metadata["from"] = "\(sender ?? "?")"
        default: return
        }
        log(stage: verb, reply: reply, metadata)
    }

    /// Logs a message refused once its text was in (size, bare newlines, NUL, hops).
    func logIfRefused(messageFrom sender: String?, _ action: SMTPServerAction) {
        guard let reply = Self.refusal(in: action) else { return }
        log(stage: "END-OF-MESSAGE", reply: reply, ["from": "\(sender ?? "?")"])
    }

    private func log(stage: String, reply: SMTPReply, _ facts: Logger.Metadata) {
        var metadata = facts
        metadata["stage"] = "\(stage)"
        metadata["client"] = "\(info.clientName.name)[\(info.clientAddress)]"
        metadata["helo"] = "\(session.heloName ?? "")"
        metadata["reply"] = "\(reply.lines.enumerated().map { index, line in index == 0 ? Self.head(reply) + line : line }.joined(separator: " "))"
        logger.info("reject", metadata: metadata)
        configuration.onRefusal?(stage)
    }

    private static func head(_ reply: SMTPReply) -> String {
        "\(reply.code) " + (reply.enhancedCode.map { "\($0) " } ?? "")
    }

    private static func refusal(in action: SMTPServerAction) -> SMTPReply? {
        switch action {
        case .send(let reply), .abortMessage(let reply): reply.code >= 400 ? reply : nil
        case .sendAndClose(let replies): replies.first.flatMap { $0.code >= 400 ? $0 : nil }
        case .discardChunk(_, let reply): reply.code >= 400 ? reply : nil
        default: nil
        }
    }

    /// The path after `keyword` (`FROM:`, `TO:`), up to the first space: `<a@b.example>`.
    private static func path(after keyword: String, in text: String) -> String? {
        // Compared a character at a time, so that the offset found is one in `text` itself.
        let characters = Array(text)
        let key = Array(keyword)
        guard characters.count >= key.count,
            let start = (0...(characters.count - key.count)).first(where: { offset in
                key.indices.allSatisfy { String(characters[offset + $0]).uppercased() == String(key[$0]) }
            })
        else { return nil }
        let rest = text.dropFirst(start + key.count).drop { $0 == " " }
        return String(rest.prefix { $0 != " " }.prefix(320))
    }
}
