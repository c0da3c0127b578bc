import RelayConfig
import Testing

@Suite struct HostNameTests {
    @Test(arguments: ["localhost", "relay.example.com", "a-b.example", "1.example", "x", "A.EXAMPLE"])
    func acceptsHostNames(name: String) {
        #expect(HostName.isValid(name))
    }

    @Test(arguments: [
        "", ".", "a..b", "-a.example", "a-.example", "a_b", "a b", "example.com.",
        String(repeating: "a", count: 64) + ".example",
    ])
    func refusesOtherText(name: String) {
        #expect(!HostName.isValid(name))
    }

    @Test func unicodeOnlyWhenAsked() {
        #expect(!HostName.isValid("bücher.example"))
        #expect(HostName.isValid("bücher.example", allowUnicode: true))
    }

    @Test func theSystemNameIsNotEmpty() {
        #expect(!HostName.systemFullyQualified.isEmpty)
        #expect(RelayConfiguration().hostname == HostName.systemFullyQualified)
    }
}
