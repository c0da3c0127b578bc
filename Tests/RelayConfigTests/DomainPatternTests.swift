import RelayConfig
import Testing

@Suite struct DomainPatternTests {
    @Test(arguments: [
        ("example.com", "example.com", true),
        ("example.com", "EXAMPLE.Com", true),
        ("example.com", "example.com.", true),
        ("example.com", "a.example.com", false),
        ("example.com", "badexample.com", false),
        ("Example.COM", "example.com", true),
        (".example.com", "a.example.com", true),
        (".example.com", "b.a.EXAMPLE.com", true),
        (".example.com", "example.com", false),
        (".example.com", "badexample.com", false),
        (".example.com", ".example.com", false),
        ("*", "anything.example", true),
        ("*", "[192.0.2.1]", true),
        ("bücher.example", "BÜCHER.example", true),
    ])
    func matches(pattern: String, domain: String, expected: Bool) throws {
        #expect(try DomainPattern(parsing: pattern).matches(domain) == expected)
    }

    @Test(arguments: [
        "", ".", "..", "*.example.com", "a..b", "-a.example", "a-.example", "exa mple.com", "a_b.example", "**",
        "*example.com",
    ])
    func refuses(text: String) {
        #expect(throws: ConfigurationError.self) { try DomainPattern(parsing: text) }
    }

    @Test func printsAsWritten() throws {
        #expect(try DomainPattern(parsing: "Example.COM.").description == "example.com")
        #expect(try DomainPattern(parsing: ".example.com").description == ".example.com")
        #expect(try DomainPattern(parsing: "*") == .any)
        #expect(DomainPattern.any.matchesEverything)
        #expect(try !DomainPattern(parsing: "example.com").matchesEverything)
    }
}
