import SMTPCore
import Testing

@Suite struct XTextTests {
    @Test(arguments: [
        ("QQ314159", "QQ314159"),
        ("a+2Bb", "a+b"),
        ("e+3Dmc2", "e=mc2"),
        ("user+40example.com", "user@example.com"),
        ("a+20b", "a b"),
        ("", ""),
    ])
    func decodes(xtext: String, text: String) {
        #expect(XText.decode(Substring(xtext)) == text)
    }

    @Test(arguments: [
        "a+2b",  // hex must be uppercase (RFC 3461 §4)
        "a+2",  // truncated escape
        "a+",
        "a+G0",
        "a=b",  // "=" must be escaped
        "a b",  // SP is not xchar
        "a\u{7F}b",
        "t\u{E9}",  // raw non-ASCII is not xchar
        "+FF",  // decodes to invalid UTF-8
        // Decodes to something other than printable ASCII (RFC 3461 §4): a CR LF would become a
        // header field of its own in a bounce.
        "carol+0D+0ABcc:+20x@evil.example",
        "a+00b",
        "+C3+A9t+C3+A9",
    ])
    func refusesInvalidXText(xtext: String) {
        #expect(XText.decode(Substring(xtext)) == nil)
    }

    @Test(arguments: [
        ("plain@example.com", "plain@example.com"),
        ("a+b=c d", "a+2Bb+3Dc+20d"),
        ("été", "+C3+A9t+C3+A9"),
        ("tab\there", "tab+09here"),
        ("", ""),
    ])
    func encodes(text: String, xtext: String) {
        #expect(XText.encode(text) == xtext)
    }

    /// For printable ASCII and white space, which is all RFC 3461 lets the decoded text hold.
    @Test(arguments: ["rfc822;user@example.com", "a+b=c", " spaces and\ttabs ", "~!#$%"])
    func encodeThenDecodeGivesTheTextBack(text: String) {
        #expect(XText.decode(Substring(XText.encode(text))) == text)
    }
}
