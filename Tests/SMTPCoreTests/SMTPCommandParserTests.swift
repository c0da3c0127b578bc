import SMTPCore
import Testing

private let parser = SMTPCommandParser(maximumMessageSize: 10_000)

private func parse(_ line: String, transactionUTF8: Bool = false) throws(SMTPCommandError) -> SMTPCommand {
    try parser.parse(Array(line.utf8), transactionUTF8: transactionUTF8)
}

/// The reply a command line earns when it does not parse, or nil when it does.
private func refusal(_ bytes: [UInt8], transactionUTF8: Bool = false) -> SMTPReply? {
    do {
        _ = try parser.parse(bytes, transactionUTF8: transactionUTF8)
        return nil
    } catch {
        return error.reply
    }
}

private func refusal(_ line: String, transactionUTF8: Bool = false) -> SMTPReply? {
    refusal(Array(line.utf8), transactionUTF8: transactionUTF8)
}

private func reply(_ code: Int, _ enhanced: (Int, Int, Int), _ text: String) -> SMTPReply {
    SMTPReply(code: code, EnhancedStatusCode(enhanced.0, enhanced.1, enhanced.2), text)
}

private func usage(_ text: String) -> SMTPReply { reply(501, (5, 5, 4), "Syntax: \(text)") }

private let alice = Mailbox(localPart: "alice", domain: "sender.example")
private let bob = Mailbox(localPart: "bob", domain: "example.org")

private let commands: [(String, SMTPCommand)] = [
    ("EHLO client.example", .ehlo("client.example")),
    ("HELO client.example", .helo("client.example")),
    ("EHLO [192.0.2.1]", .ehlo("[192.0.2.1]")),
    ("EHLO client.example ", .ehlo("client.example")),
    ("MAIL FROM:<alice@sender.example>", .mail(sender: alice, MailParameters())),
    ("MAIL FROM:<>", .mail(sender: nil, MailParameters())),
    ("RCPT TO:<bob@example.org>", .rcpt(bob, RecipientParameters())),
    ("RCPT TO:<Postmaster>", .rcpt(Mailbox(localPart: "Postmaster", domain: ""), RecipientParameters())),
    ("DATA", .data),
    ("RSET", .rset),
    ("NOOP", .noop),
    ("NOOP anything at all", .noop),  // RFC 5321 §4.1.1.9
    ("QUIT", .quit),
    ("VRFY bob", .vrfy),
    ("EXPN staff", .expn),
    ("EXPN", .expn),
    ("HELP", .help),
    ("HELP MAIL", .help),
    ("STARTTLS", .starttls),
    ("AUTH PLAIN", .auth(mechanism: "PLAIN", initialResponse: nil)),
    ("AUTH login dXNlcg==", .auth(mechanism: "LOGIN", initialResponse: "dXNlcg==")),
    ("BDAT 100", .bdat(size: 100, last: false)),
    ("BDAT 0 LAST", .bdat(size: 0, last: true)),
    ("BDAT 42 last", .bdat(size: 42, last: true)),
]

private let invalidUTF8Lines: [[UInt8]] = [
    Array("MAIL FROM:<".utf8) + [0xFF] + Array("@sender.example>".utf8),
    Array("NOOP ".utf8) + [0xC3],  // truncated sequence
    Array("EHLO ".utf8) + [0xED, 0xA0, 0x80],  // a UTF-16 surrogate
    [0xC0, 0x80],  // overlong encoding
]

@Suite struct SMTPCommandParserTests {
    @Test(arguments: commands)
    func parsesEveryVerb(line: String, command: SMTPCommand) throws {
        #expect(try parse(line) == command)
    }

    @Test(arguments: commands)
    func verbsAreCaseInsensitive(line: String, command: SMTPCommand) throws {
        let verbEnd = line.firstIndex(of: " ") ?? line.endIndex
        let verb = line[..<verbEnd]
        let arguments = String(line[verbEnd...])
        #expect(try parse(verb.lowercased() + arguments) == command)
        #expect(try parse(verb.prefix(1).uppercased() + verb.dropFirst().lowercased() + arguments) == command)
    }

    @Test(arguments: [
        "mail from:<alice@sender.example>", "MAIL FROM: <alice@sender.example>", "Mail From:   <alice@sender.example>",
    ])
    func mailKeywordInAnyCaseAndBlanksBeforeThePath(line: String) throws {
        #expect(try parse(line) == .mail(sender: alice, MailParameters()))
    }

    @Test func rcptAcceptsABlankBeforeThePath() throws {
        #expect(try parse("rcpt to: <bob@example.org>") == .rcpt(bob, RecipientParameters()))
    }

    @Test func sourceRoutesAreAcceptedAndDropped() throws {
        #expect(try parse("RCPT TO:<@a.example,@b.example:bob@example.org>") == .rcpt(bob, RecipientParameters()))
        #expect(try parse("MAIL FROM:<@a.example:alice@sender.example>") == .mail(sender: alice, MailParameters()))
    }

    @Test func quotedLocalPartsMayHoldBlanksAndAngleBrackets() throws {
        #expect(
            try parse("MAIL FROM:<\"john doe\"@example.com>")
                == .mail(sender: Mailbox(localPart: "\"john doe\"", domain: "example.com"), MailParameters()))
        #expect(
            try parse("RCPT TO:<\"a>b\"@example.com>")
                == .rcpt(Mailbox(localPart: "\"a>b\"", domain: "example.com"), RecipientParameters()))
        var never = RecipientParameters()
        never.notify = .never
        #expect(
            try parse("RCPT TO:<\"a\\\">b\"@example.com> NOTIFY=NEVER")
                == .rcpt(Mailbox(localPart: "\"a\\\">b\"", domain: "example.com"), never))
    }

    @Test(arguments: ["[192.0.2.1]", "[IPv6:2001:db8::1]"])
    func addressLiterals(literal: String) throws {
        #expect(
            try parse("RCPT TO:<postmaster@\(literal)>")
                == .rcpt(Mailbox(localPart: "postmaster", domain: literal), RecipientParameters()))
    }

    @Test func parametersFollowThePath() throws {
        var mail = MailParameters()
        mail.size = 500
        mail.body = .eightBitMIME
        #expect(try parse("MAIL FROM:<alice@sender.example> SIZE=500 BODY=8BITMIME") == .mail(sender: alice, mail))
        var rcpt = RecipientParameters()
        rcpt.notify = .never
        rcpt.originalRecipient = "rfc822;bob@example.org"
        #expect(try parse("RCPT TO:<bob@example.org> NOTIFY=NEVER ORCPT=rfc822;bob+40example.org") == .rcpt(bob, rcpt))
    }

    // MARK: Refusals

    @Test(arguments: [
        ("MAIL FROM:alice@sender.example", "MAIL FROM:<address>"),  // no brackets
        ("MAIL FROM:", "MAIL FROM:<address>"),
        ("MAIL", "MAIL FROM:<address>"),
        ("MAIL TO:<alice@sender.example>", "MAIL FROM:<address>"),
        ("MAIL FROM <alice@sender.example>", "MAIL FROM:<address>"),
        ("MAIL FROM:<alice@sender.example", "MAIL FROM:<address>"),
        ("MAIL FROM:<alice@sender.example>SIZE=10", "MAIL FROM:<address>"),
        ("RCPT TO:bob@example.org", "RCPT TO:<address>"),
        ("RCPT FROM:<bob@example.org>", "RCPT TO:<address>"),
        ("RCPT", "RCPT TO:<address>"),
        ("EHLO", "EHLO hostname"),
        ("HELO   ", "HELO hostname"),
        ("EHLO two words", "EHLO hostname"),
        ("EHLO bücher.example", "EHLO hostname"),
        ("DATA now", "DATA"),
        ("RSET all", "RSET"),
        ("QUIT now", "QUIT"),
        ("STARTTLS please", "STARTTLS"),
        ("VRFY", "VRFY address"),
        ("VRFY  ", "VRFY address"),
        ("AUTH", "AUTH mechanism [initial-response]"),
        ("AUTH PLAIN a b", "AUTH mechanism [initial-response]"),
        ("BDAT", "BDAT chunk-size [LAST]"),
        ("BDAT ten", "BDAT chunk-size [LAST]"),
        ("BDAT -1", "BDAT chunk-size [LAST]"),
        ("BDAT +1", "BDAT chunk-size [LAST]"),
        ("BDAT 1 FIRST", "BDAT chunk-size [LAST]"),
        ("BDAT 1 LAST more", "BDAT chunk-size [LAST]"),
        ("BDAT 1234567890123456789", "BDAT chunk-size [LAST]"),
    ])
    func syntaxErrorsGet501WithUsage(line: String, usageText: String) {
        #expect(refusal(line) == usage(usageText))
    }

    @Test(arguments: [
        "MAIL FROM:<alice@@sender.example>",
        "MAIL FROM:<alice>",
        "MAIL FROM:<Postmaster>",
        "MAIL FROM:<a..b@sender.example>",
        "MAIL FROM:<alice@[192.0.2.999]>",
        "MAIL FROM:<@a.example,b.example:alice@sender.example>",
    ])
    func badSenderSyntaxIs501_517(line: String) {
        #expect(refusal(line) == reply(501, (5, 1, 7), "Error: bad address syntax"))
    }

    @Test(arguments: [
        "RCPT TO:<>",
        "RCPT TO:<bob@>",
        "RCPT TO:<bob>",
        "RCPT TO:<bob@example..org>",
        "RCPT TO:<bob@[IPv6:2001:db8::1::2]>",
    ])
    func badRecipientSyntaxIs501_513(line: String) {
        #expect(refusal(line) == reply(501, (5, 1, 3), "Error: bad address syntax"))
    }

    @Test func aLocalPartOver64OctetsIsTooLong() {
        let local65 = String(repeating: "a", count: 65)
        #expect(refusal("MAIL FROM:<\(local65)@sender.example>") == reply(501, (5, 1, 7), "Error: address too long"))
        #expect(refusal("RCPT TO:<\(local65)@example.org>") == reply(501, (5, 1, 3), "Error: address too long"))
        #expect(refusal("RCPT TO:<\(local65.dropLast())@example.org>") == nil)
    }

    @Test func aPathOver256OctetsIsTooLong() {
        let label = String(repeating: "d", count: 60)
        let path =
            "<" + String(repeating: "a", count: 64) + "@" + [label, label, label].joined(separator: ".") + ".example>"
        #expect(path.utf8.count > 256)
        #expect(refusal("MAIL FROM:\(path)") == reply(501, (5, 1, 7), "Error: address too long"))
        #expect(refusal("RCPT TO:\(path)") == reply(501, (5, 1, 3), "Error: address too long"))
    }

    @Test func aNonASCIIAddressNeedsSMTPUTF8() {
        let smtputf8Required = reply(553, (5, 6, 7), "Error: must declare SMTPUTF8 to send a non-ASCII address")
        #expect(refusal("MAIL FROM:<josé@sender.example>") == smtputf8Required)
        #expect(refusal("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>") == smtputf8Required)
        #expect(refusal("RCPT TO:<bob@bücher.example>") == smtputf8Required)
    }

    @Test func mailDeclaringSMTPUTF8MayUseAUTF8Address() throws {
        var parameters = MailParameters()
        parameters.smtputf8 = true
        #expect(
            try parse("MAIL FROM:<josé@sender.example> SMTPUTF8")
                == .mail(sender: Mailbox(localPart: "josé", domain: "sender.example"), parameters))
    }

    @Test func rcptInAnSMTPUTF8TransactionMayUseAUTF8Address() throws {
        #expect(
            try parse("RCPT TO:<δοκιμή@παράδειγμα.δοκιμή>", transactionUTF8: true)
                == .rcpt(Mailbox(localPart: "δοκιμή", domain: "παράδειγμα.δοκιμή"), RecipientParameters()))
    }

    @Test(arguments: invalidUTF8Lines)
    func invalidUTF8Is500_552(bytes: [UInt8]) {
        #expect(refusal(bytes) == reply(500, (5, 5, 2), "Error: invalid UTF-8 in command"))
    }

    @Test(arguments: ["NOOP\0", "\0", "MAIL FROM:<a\0b@sender.example>", "RCPT TO:<bob@example.org>\0NOTIFY=NEVER"])
    func nulIsRefusedWith500_552(line: String) {
        #expect(refusal(line) == reply(500, (5, 5, 2), "Error: NUL character in command"))
    }

    @Test(arguments: [
        "FOO", "", " NOOP", "MAILFROM:<a@b.example>", "EHLO\tclient.example", "TURN", "ETRN example.org",
        "XCLIENT ADDR=1.2.3.4",
    ])
    func unknownVerbsAre500_552(line: String) {
        #expect(refusal(line) == reply(500, (5, 5, 2), "Error: command not recognized"))
    }

    @Test func aDeclaredSizeOverTheMaximumIs552_534() {
        #expect(
            refusal("MAIL FROM:<alice@sender.example> SIZE=10001")
                == reply(552, (5, 3, 4), "Error: message size exceeds fixed limit"))
        #expect(refusal("MAIL FROM:<alice@sender.example> SIZE=10000") == nil)
    }

    @Test func parameterErrorsKeepTheirReplies() {
        #expect(
            refusal("MAIL FROM:<alice@sender.example> BODY=BINARYMIME")
                == reply(501, (5, 5, 4), "Error: bad value of parameter BODY"))
        #expect(refusal("MAIL FROM:<alice@sender.example> XFOO") == reply(555, (5, 5, 4), "Unsupported option: XFOO"))
        #expect(
            refusal("RCPT TO:<bob@example.org> NOTIFY=NEVER,SUCCESS")
                == reply(501, (5, 5, 4), "Error: bad value of parameter NOTIFY"))
        #expect(
            refusal("RCPT TO:<bob@example.org> NOTIFY=NEVER NOTIFY=NEVER")
                == reply(501, (5, 5, 4), "Error: duplicate parameter NOTIFY"))
    }
}
