import SMTPCore
import Testing

/// Parses a reverse-path (MAIL FROM) unless told otherwise.
private func path(
    _ text: String, allowEmpty: Bool = true, allowBarePostmaster: Bool = false, utf8: Bool = false
) throws(MailboxParseError) -> Mailbox? {
    try MailboxParser.parsePath(
        Substring(text).utf8, allowEmpty: allowEmpty, allowBarePostmaster: allowBarePostmaster, utf8: utf8)
}

/// Parses a forward-path (RCPT TO).
private func forwardPath(_ text: String, utf8: Bool = false) throws(MailboxParseError) -> Mailbox? {
    try path(text, allowEmpty: false, allowBarePostmaster: true, utf8: utf8)
}

/// A valid domain of exactly `length` octets: labels of at most 63 letters.
private func domain(length: Int) -> String {
    var labels: [String] = []
    var remaining = length
    while remaining > 0 {
        // Leave room for the dot before the next label, and never leave a remainder of one (a lone dot).
        var size = min(63, remaining)
        if remaining - size == 1 { size -= 1 }
        labels.append(String(repeating: "x", count: size))
        remaining -= size + 1
    }
    let result = labels.joined(separator: ".")
    precondition(result.utf8.count == length)
    return result
}

@Suite struct MailboxParserTests {
    @Test func aPlainMailbox() throws {
        #expect(try path("<user@example.com>") == Mailbox(localPart: "user", domain: "example.com"))
    }

    @Test func theNullReversePathIsNil() throws {
        #expect(try path("<>") == nil)
    }

    @Test func theNullPathIsNotAForwardPath() {
        #expect(throws: MailboxParseError.syntax) { try forwardPath("<>") }
    }

    @Test(arguments: [
        "<@a.example,@b.example:u@c.example>",
        "<@a.example:u@c.example>",
    ])
    func sourceRoutesAreAcceptedAndDropped(text: String) throws {
        #expect(try path(text) == Mailbox(localPart: "u", domain: "c.example"))
    }

    @Test(arguments: [
        "<@a.example,b.example:u@c.example>",  // every hop starts with "@"
        "<@a.example u@c.example>",  // no colon
        "<@:u@c.example>",
        "<@a.example,:u@c.example>",
        "<@a.example:>",
    ])
    func badSourceRoutesAreRefused(text: String) {
        #expect(throws: MailboxParseError.syntax) { try path(text) }
    }

    @Test(arguments: [
        ("<\"john doe\"@example.com>", "\"john doe\""),
        ("<\"a\\\"b\"@example.com>", "\"a\\\"b\""),
        ("<\"a@b\"@example.com>", "\"a@b\""),
        ("<\"\"@example.com>", "\"\""),
    ])
    func quotedLocalPartsAreKeptAsWritten(text: String, localPart: String) throws {
        #expect(try path(text) == Mailbox(localPart: localPart, domain: "example.com"))
    }

    @Test(arguments: ["<\"open@example.com>", "<\"a\"b@example.com>", "<\"tab\there\"@example.com>"])
    func badQuotedLocalPartsAreRefused(text: String) {
        #expect(throws: MailboxParseError.syntax) { try path(text) }
    }

    @Test(arguments: [
        "[192.0.2.1]",
        "[255.255.255.255]",
        "[IPv6:2001:db8::1]",
        "[IPv6:2001:DB8:0:0:8:800:200C:417A]",
        "[ipv6:::1]",
        "[IPv6:::]",
        "[IPv6:2001:db8::]",
        "[IPv6:::ffff:192.0.2.1]",
        "[IPv6:2001:db8:1:2:3:4:192.0.2.1]",
        "[x-tag:some-content]",  // General-address-literal (RFC 5321 §4.1.3)
    ])
    func addressLiterals(literal: String) throws {
        #expect(try path("<postmaster@\(literal)>") == Mailbox(localPart: "postmaster", domain: literal))
    }

    @Test(arguments: [
        "[192.0.2.256]",
        "[192.0.2]",
        "[192.0.2.1.5]",
        "[192.0..1]",
        "[a.b.c.d]",
        "[]",
        "[IPv6:2001:db8::1::2]",
        "[IPv6:2001:db8:::1]",
        "[IPv6:2001:db8::1:]",
        "[IPv6::2001:db8::1]",
        "[IPv6:1:2:3:4:5:6:7:]",
        "[IPv6:12345::1]",
        "[IPv6:1:2:3:4:5:6:7:8:9]",
        "[IPv6:1:2:3:4:5:6:7]",
        "[IPv6:g::1]",
        "[IPv6:::192.0.2.300]",
        "[IPv6:]",
        "[:content]",
        "[x tag:content]",  // Standardized-tag is an Ldh-str
        "[x-tag:a[b]",
        "[192.0.2.1",
    ])
    func badAddressLiteralsAreRefused(literal: String) {
        #expect(throws: MailboxParseError.syntax) { try path("<postmaster@\(literal)>") }
    }

    @Test(arguments: [
        "user@example.com",  // no brackets
        "<user@example.com",
        "user@example.com>",
        "<>x",
        "<user>",  // no domain
        "<@example.com>",
        "<user@>",
        "<a..b@example.com>",
        "<.a@example.com>",
        "<a.@example.com>",
        "<a b@example.com>",
        "<a(b)@example.com>",
        "<user@example..com>",
        "<user@.example.com>",
        "<user@example.com.>",
        "<user@-example.com>",
        "<user@example-.com>",
        "<user@exa_mple.com>",
        "<user@exa mple.com>",
        "<user@@example.com>",
        "<user@example.com@example.org>",
        "<Postmaster>",  // only as a forward-path
    ])
    func badSyntaxIsRefused(text: String) {
        #expect(throws: MailboxParseError.syntax) { try path(text) }
    }

    @Test(arguments: ["<user!%&'*+-/=?^_`{|}~@example.com>", "<a.b.c@example.com>", "<0@a-b.9.example>"])
    func dotAtomLocalPartsAndLetterDigitHyphenDomains(text: String) throws {
        #expect(try path(text) != nil)
    }

    @Test(arguments: ["<Postmaster>", "<postmaster>", "<POSTMASTER>", "<@a.example:Postmaster>"])
    func barePostmasterIsAForwardPath(text: String) throws {
        let mailbox = try #require(try forwardPath(text))
        #expect(mailbox.isBarePostmaster)
        #expect(mailbox.domain == "")
        #expect(mailbox.localPart.lowercased() == "postmaster")
        #expect(mailbox.description == mailbox.localPart)
    }

    @Test func postmasterWithADomainIsAnOrdinaryMailbox() throws {
        let mailbox = try forwardPath("<postmaster@example.com>")
        #expect(mailbox == Mailbox(localPart: "postmaster", domain: "example.com"))
        #expect(mailbox?.isBarePostmaster == false)
    }

    // MARK: Lengths (RFC 5321 §4.5.3.1)

    @Test func aLocalPartOf64OctetsIsAcceptedAnd65Refused() throws {
        let local64 = String(repeating: "a", count: 64)
        #expect(try path("<\(local64)@example.com>")?.localPart == local64)
        #expect(throws: MailboxParseError.tooLong) { try path("<\(local64)a@example.com>") }
    }

    @Test func aQuotedLocalPartCountsToo() {
        let quoted = "\"" + String(repeating: "a", count: 63) + "\""
        #expect(throws: MailboxParseError.tooLong) { try path("<\(quoted)@example.com>") }
    }

    @Test func aPathOf256OctetsIsAcceptedAnd257Refused() throws {
        let local64 = String(repeating: "a", count: 64)
        let path256 = "<\(local64)@\(domain(length: 189))>"
        #expect(path256.utf8.count == 256)
        #expect(try path(path256) != nil)
        let path257 = "<\(local64)@\(domain(length: 190))>"
        #expect(path257.utf8.count == 257)
        #expect(throws: MailboxParseError.tooLong) { try path(path257) }
        #expect(throws: MailboxParseError.tooLong) { try forwardPath(path257) }
    }

    @Test func aDomainOf255OctetsIsAcceptedAnd256Refused() throws {
        #expect(
            try MailboxParser.parseMailbox(Substring("a@\(domain(length: 255))").utf8, utf8: false).domain.utf8.count
                == 255)
        #expect(throws: MailboxParseError.tooLong) {
            try MailboxParser.parseMailbox(Substring("a@\(domain(length: 256))").utf8, utf8: false)
        }
    }

    @Test func aLabelOf64OctetsIsRefused() throws {
        let label64 = String(repeating: "l", count: 64)
        #expect(throws: MailboxParseError.syntax) { try path("<a@\(label64).example>") }
        #expect(try path("<a@\(label64.dropLast()).example>") != nil)
    }

    // MARK: SMTPUTF8 (RFC 6531)

    @Test(arguments: [
        "<δοκιμή@παράδειγμα.δοκιμή>", "<josé@example.com>", "<user@bücher.example>", "<\"josé\"@example.com>",
    ])
    func nonASCIINeedsSMTPUTF8(text: String) throws {
        #expect(throws: MailboxParseError.needsSMTPUTF8) { try path(text) }
        #expect(throws: MailboxParseError.needsSMTPUTF8) { try forwardPath(text) }
        let mailbox = try #require(try path(text, utf8: true))
        #expect(mailbox.needsSMTPUTF8)
        #expect(try forwardPath(text, utf8: true) == mailbox)
    }

    @Test func theUTF8MailboxKeepsItsText() throws {
        #expect(
            try path("<δοκιμή@παράδειγμα.δοκιμή>", utf8: true)
                == Mailbox(localPart: "δοκιμή", domain: "παράδειγμα.δοκιμή"))
    }

    @Test func anASCIIMailboxDoesNotNeedSMTPUTF8() throws {
        #expect(try path("<user@example.com>", utf8: true)?.needsSMTPUTF8 == false)
    }

    @Test func controlCharactersAreSyntaxErrorsEvenBesideNonASCII() {
        #expect(throws: MailboxParseError.syntax) { try path("<jo\u{1}sé@example.com>") }
        #expect(throws: MailboxParseError.syntax) { try path("<jo\u{1}sé@example.com>", utf8: true) }
    }

    // MARK: Mailbox

    @Test func descriptionIsLocalPartAtDomain() {
        #expect(Mailbox(localPart: "\"john doe\"", domain: "example.com").description == "\"john doe\"@example.com")
        #expect(Mailbox(localPart: "Postmaster", domain: "").description == "Postmaster")
    }

    @Test(arguments: [
        ("example.com", true), ("a", true), ("a-b.c9", true), ("9a.example", true),
        ("", false), ("-a.example", false), ("a-.example", false), ("a..b", false), (".a", false),
        ("a_b.example", false),
    ])
    func isDomain(text: String, valid: Bool) {
        #expect(MailboxParser.isDomain(Array(text.utf8), utf8: false) == valid)
    }
}
