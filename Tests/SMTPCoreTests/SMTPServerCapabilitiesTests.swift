import NIOCore
import SMTPCore
import Testing

private func capabilities(_ keywords: [String]) -> SMTPServerCapabilities {
    SMTPServerCapabilities(ehloReply: SMTPReply(code: 250, nil, ["mx.example.com Hello client.example.org"] + keywords))
}

@Suite struct SMTPServerCapabilitiesTests {
    @Test func nothingIsOfferedByDefault() {
        let none = SMTPServerCapabilities()
        #expect(!none.pipelining && !none.eightBitMIME && !none.smtputf8 && !none.dsn)
        #expect(!none.startTLS && !none.chunking && !none.enhancedStatusCodes)
        #expect(none.size == nil)
        #expect(none.authMechanisms.isEmpty)
        #expect(capabilities([]) == none)
    }

    @Test func aTypicalPostfixReply() throws {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: """
            250-mx.example.com\r
            250-PIPELINING\r
            250-SIZE 10240000\r
            250-VRFY\r
            250-ETRN\r
            250-STARTTLS\r
            250-AUTH PLAIN LOGIN\r
            250-ENHANCEDSTATUSCODES\r
            250-8BITMIME\r
            250-DSN\r
            250-SMTPUTF8\r
            250 CHUNKING\r

            """)
        let reply = try #require(try decoder.next(&buffer))
        let offered = SMTPServerCapabilities(ehloReply: reply)
        #expect(offered.pipelining)
        #expect(offered.size == 10_240_000)
        #expect(offered.startTLS)
        #expect(offered.authMechanisms == ["PLAIN", "LOGIN"])
        #expect(offered.enhancedStatusCodes)
        #expect(offered.eightBitMIME)
        #expect(offered.dsn)
        #expect(offered.smtputf8)
        #expect(offered.chunking)
    }

    static func flag(_ keyword: String) -> WritableKeyPath<SMTPServerCapabilities, Bool>? {
        let flags: [String: WritableKeyPath<SMTPServerCapabilities, Bool>] = [
            "PIPELINING": \.pipelining, "8BITMIME": \.eightBitMIME, "SMTPUTF8": \.smtputf8, "DSN": \.dsn,
            "STARTTLS": \.startTLS, "CHUNKING": \.chunking, "ENHANCEDSTATUSCODES": \.enhancedStatusCodes,
        ]
        return flags[keyword]
    }

    @Test(arguments: ["PIPELINING", "8BITMIME", "SMTPUTF8", "DSN", "STARTTLS", "CHUNKING", "ENHANCEDSTATUSCODES"])
    func eachKeywordIsRecognisedInAnyCase(keyword: String) throws {
        let flag = try #require(Self.flag(keyword))
        var expected = SMTPServerCapabilities()
        expected[keyPath: flag] = true
        for spelling in [keyword, keyword.lowercased(), keyword.prefix(1) + keyword.dropFirst().lowercased()] {
            // That flag and nothing else.
            #expect(capabilities([spelling]) == expected, "\(spelling)")
            #expect(capabilities(["PIPELINING", spelling]).pipelining)
        }
        #expect(!capabilities(["X" + keyword])[keyPath: flag])
    }

    @Test(arguments: [
        ("SIZE 35882577", 35_882_577 as Int?),
        ("SIZE 0", 0),
        ("SIZE", 0),
        ("size 1000", 1000),
        ("Size 52428800", 52_428_800),
        ("SIZE  2048", 2048),
    ])
    func sizeWithAndWithoutALimit(line: String, size: Int?) {
        #expect(capabilities([line]).size == size)
    }

    @Test func noSizeKeywordMeansNoSize() {
        #expect(capabilities(["PIPELINING", "8BITMIME"]).size == nil)
    }

    @Test(arguments: [
        ("AUTH PLAIN LOGIN", ["PLAIN", "LOGIN"]),
        ("auth plain login", ["PLAIN", "LOGIN"]),
        ("AUTH LOGIN PLAIN CRAM-MD5 XOAUTH2", ["LOGIN", "PLAIN", "CRAM-MD5", "XOAUTH2"]),
        ("AUTH", []),
    ])
    func authMechanismsAreUpperCased(line: String, mechanisms: [String]) {
        #expect(capabilities([line]).authMechanisms == mechanisms)
    }

    @Test func theGreetingLineIsNotAKeyword() {
        let offered = SMTPServerCapabilities(ehloReply: SMTPReply(code: 250, nil, ["STARTTLS"]))
        #expect(!offered.startTLS)
        let named = SMTPServerCapabilities(ehloReply: SMTPReply(code: 250, nil, ["PIPELINING", "SIZE 10"]))
        #expect(!named.pipelining)
        #expect(named.size == 10)
    }

    @Test func unknownKeywordsAndEmptyLinesAreIgnored() {
        let offered = capabilities(["", "X-EXPS GSSAPI NTLM", "VRFY", "ETRN", "XCLIENT NAME ADDR", "DELIVERBY 60"])
        #expect(offered == SMTPServerCapabilities())
    }

    @Test func aKeywordMustBeTheWholeWord() {
        let offered = capabilities(["PIPELININGX", "STARTTLSX", "SIZEX 10", "AUTH=PLAIN LOGIN"])
        #expect(offered == SMTPServerCapabilities())
    }
}
