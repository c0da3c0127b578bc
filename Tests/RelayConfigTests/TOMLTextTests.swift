import RelayConfig
import Testing

@Suite struct TOMLTextTests {
    @Test(arguments: [
        ("plain", #""plain""#),
        (#"a "b" \c"#, #""a \"b\" \\c""#),
        ("tab\tnew\nline\r", #""tab\tnew\nline\r""#),
        ("\u{01}\u{7F}", #""\u0001\u007F""#),
        ("café", #""café""#),
    ])
    func quotes(text: String, expected: String) {
        #expect(TOMLText.quoted(text) == expected)
    }

    @Test(arguments: ["plain", #"a "b" \c"#, "tab\tnew\nline\r", "\u{01}\u{7F}\u{1B}", "café ✉", ""])
    func quotedStringsReadBack(text: String) throws {
        let configuration = try Fixtures.parse("[auth]\nusers_file = \(TOMLText.quoted(text.isEmpty ? "x" : text))")
        #expect(configuration.auth?.usersFile == (text.isEmpty ? "x" : text))
    }

    @Test func arrays() {
        #expect(TOMLText.array([]) == "[]")
        #expect(TOMLText.array(["a", "b\""]) == #"["a", "b\""]"#)
    }
}
