/// Parses one command line (without its CRLF) into an `SMTPCommand`.
///
/// The parser is strict where the RFC is (paths need angle brackets; parameters are checked),
/// and tolerant only where common clients differ harmlessly: verbs in any case, and blanks after
/// `MAIL FROM:` / `RCPT TO:` (Postfix accepts those too).
public struct SMTPCommandParser: Sendable {
    /// The largest message advertised with SIZE, for RFC 1870 checks of MAIL FROM.
    public var maximumMessageSize: Int

    public init(maximumMessageSize: Int) {
        self.maximumMessageSize = maximumMessageSize
    }

    /// - Parameters:
    ///   - line: the command without CRLF.
    ///   - transactionUTF8: the current transaction declared SMTPUTF8 (for RCPT).
    /// - Throws: `SMTPCommandError` carrying the reply to send.
    public func parse(_ line: [UInt8], transactionUTF8: Bool = false) throws(SMTPCommandError) -> SMTPCommand {
        if line.contains(0) { throw SMTPCommandError(.nulInCommand) }
        guard let text = String(validating: line, as: UTF8.self) else { throw SMTPCommandError(.invalidUTF8) }
        let verbEnd = text.firstIndex(of: " ") ?? text.endIndex
        let verb = text[..<verbEnd].uppercased()
        let rest = verbEnd == text.endIndex ? Substring() : text[text.index(after: verbEnd)...]

        switch verb {
        case "EHLO", "HELO":
            let name = rest.trimmingBlanks()
            guard !name.isEmpty, !name.contains(" "), name.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
                throw SMTPCommandError(.syntax("\(verb) hostname"))
            }
            return verb == "EHLO" ? .ehlo(String(name)) : .helo(String(name))
        case "MAIL":
            return try parseMail(rest)
        case "RCPT":
            return try parseRecipient(rest, transactionUTF8: transactionUTF8)
        case "DATA":
            try requireNoArguments(rest, usage: "DATA")
            return .data
        case "BDAT":
            return try parseBDAT(rest)
        case "RSET":
            try requireNoArguments(rest, usage: "RSET")
            return .rset
        case "NOOP":
            return .noop  // RFC 5321 §4.1.1.9: an argument is allowed and ignored.
        case "QUIT":
            try requireNoArguments(rest, usage: "QUIT")
            return .quit
        case "VRFY":
            guard !rest.trimmingBlanks().isEmpty else { throw SMTPCommandError(.syntax("VRFY address")) }
            return .vrfy
        case "EXPN":
            return .expn
        case "HELP":
            return .help
        case "STARTTLS":
            try requireNoArguments(rest, usage: "STARTTLS")
            return .starttls
        case "AUTH":
            let words = rest.split(separator: " ")
            guard words.count == 1 || words.count == 2 else {
                throw SMTPCommandError(.syntax("AUTH mechanism [initial-response]"))
            }
            return .auth(mechanism: words[0].uppercased(), initialResponse: words.count == 2 ? String(words[1]) : nil)
        default:
            throw SMTPCommandError(.commandUnrecognized)
        }
    }

    private func requireNoArguments(_ rest: Substring, usage: String) throws(SMTPCommandError) {
        guard rest.trimmingBlanks().isEmpty else { throw SMTPCommandError(.syntax(usage)) }
    }

    private func parseMail(_ rest: Substring) throws(SMTPCommandError) -> SMTPCommand {
        let usage = SMTPReply.syntax("MAIL FROM:<address>")
        guard let (path, parameterText) = splitPath(rest, keyword: "FROM:") else { throw SMTPCommandError(usage) }
        let parameters: MailParameters
        do {
            parameters = try ESMTPParameterParser.parseMail(parameterText, maximumSize: maximumMessageSize)
        } catch {
            throw SMTPCommandError(error.reply)
        }
        do {
            let sender = try MailboxParser.parsePath(
                path.utf8, allowEmpty: true, allowBarePostmaster: false, utf8: parameters.smtputf8)
            return .mail(sender: sender, parameters)
        } catch {
            throw SMTPCommandError(Self.addressReply(error, sender: true))
        }
    }

    private func parseRecipient(_ rest: Substring, transactionUTF8: Bool) throws(SMTPCommandError) -> SMTPCommand {
        let usage = SMTPReply.syntax("RCPT TO:<address>")
        guard let (path, parameterText) = splitPath(rest, keyword: "TO:") else { throw SMTPCommandError(usage) }
        let parameters: RecipientParameters
        do {
            parameters = try ESMTPParameterParser.parseRecipient(parameterText)
        } catch {
            throw SMTPCommandError(error.reply)
        }
        let recipient: Mailbox?
        do {
            recipient = try MailboxParser.parsePath(
                path.utf8, allowEmpty: false, allowBarePostmaster: true, utf8: transactionUTF8)
        } catch {
            throw SMTPCommandError(Self.addressReply(error, sender: false))
        }
        // A forward-path is never empty: with allowEmpty false, nil does not come back.
        guard let recipient else { throw SMTPCommandError(usage) }
        return .rcpt(recipient, parameters)
    }

    private static func addressReply(_ error: MailboxParseError, sender: Bool) -> SMTPReply {
        let detail = sender ? 7 : 3  // RFC 3463: 5.1.7 bad sender syntax, 5.1.3 bad destination syntax
        switch error {
        case .syntax:
            return SMTPReply(code: 501, EnhancedStatusCode(5, 1, detail), "Error: bad address syntax")
        case .tooLong:
            return SMTPReply(code: 501, EnhancedStatusCode(5, 1, detail), "Error: address too long")
        case .needsSMTPUTF8:
            return .smtputf8Required
        }
    }

    /// Splits `FROM:<path> params` into the path (with brackets) and the parameter text.
    private func splitPath(_ rest: Substring, keyword: String) -> (Substring, Substring)? {
        guard rest.count >= keyword.count, rest.prefix(keyword.count).uppercased() == keyword else { return nil }
        let afterKeyword = rest.dropFirst(keyword.count).drop(while: { $0 == " " })
        guard afterKeyword.first == "<" else { return nil }
        // The path ends at the first '>' outside a quoted string.
        var inQuotes = false
        var escaped = false
        var index = afterKeyword.startIndex
        while index < afterKeyword.endIndex {
            let character = afterKeyword[index]
            if escaped {
                escaped = false
            } else if character == "\\" && inQuotes {
                escaped = true
            } else if character == "\"" {
                inQuotes.toggle()
            } else if character == ">" && !inQuotes {
                let end = afterKeyword.index(after: index)
                let path = afterKeyword[..<end]
                let tail = afterKeyword[end...]
                guard tail.isEmpty || tail.first == " " else { return nil }
                return (path, tail.trimmingBlanks())
            }
            index = afterKeyword.index(after: index)
        }
        return nil
    }

    private func parseBDAT(_ rest: Substring) throws(SMTPCommandError) -> SMTPCommand {
        let words = rest.split(separator: " ")
        let usage = SMTPReply.syntax("BDAT chunk-size [LAST]")
        guard words.count == 1 || words.count == 2, words[0].utf8.count <= 18,
            words[0].utf8.allSatisfy({ (48...57).contains($0) }), let size = Int(words[0])
        else { throw SMTPCommandError(usage) }
        if words.count == 2 {
            guard words[1].uppercased() == "LAST" else { throw SMTPCommandError(usage) }
            return .bdat(size: size, last: true)
        }
        return .bdat(size: size, last: false)
    }
}

extension Substring {
    /// Drops leading and trailing spaces and tabs.
    func trimmingBlanks() -> Substring {
        let isBlank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isBlank($0) }), let last = lastIndex(where: { !isBlank($0) }) else {
            return Substring()
        }
        return self[first...last]
    }
}
