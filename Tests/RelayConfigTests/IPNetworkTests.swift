import RelayConfig
import Testing

@Suite struct IPNetworkTests {
    @Test(arguments: [
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("0.0.0.0/0", "0.0.0.0/0"),
        ("192.0.2.7", "192.0.2.7/32"),
        ("::1/128", "::1/128"),
        ("::1", "::1/128"),
        ("::/0", "::/0"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("192.0.2.128/25", "192.0.2.128/25"),
    ])
    func parses(text: String, expected: String) {
        #expect(IPNetwork(text)?.description == expected)
    }

    @Test(arguments: [
        "", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "::/129", "10.0.0.1/8", "2001:db8::1/32",
        "192.0.2.129/25", "10.0.0.0/8/8", "example.com/8", "10.0.0.0/ 8",
    ])
    func refuses(text: String) {
        #expect(IPNetwork(text) == nil)
    }

    @Test(arguments: [
        ("10.0.0.0/8", "10.255.1.2", true),
        ("10.0.0.0/8", "11.0.0.0", false),
        ("192.0.2.128/25", "192.0.2.128", true),
        ("192.0.2.128/25", "192.0.2.255", true),
        ("192.0.2.128/25", "192.0.2.127", false),
        ("192.0.2.7", "192.0.2.7", true),
        ("192.0.2.7", "192.0.2.8", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("127.0.0.0/8", "::1", false),
    ])
    func containsIPv4(network: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(network))
        #expect(network.contains(try #require(IPAddress(address))) == expected)
    }

    @Test(arguments: [
        ("::1/128", "::1", true),
        ("::1/128", "::2", false),
        ("2001:db8::/32", "2001:db8:ffff::1", true),
        ("2001:db8::/32", "2001:db9::1", false),
        ("2001:db8::/33", "2001:db8:8000::", false),
        ("2001:db8::/33", "2001:db8:7fff::", true),
        ("::/0", "fe80::1", true),
        ("::/0", "10.0.0.1", true),
    ])
    func containsIPv6(network: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(network))
        #expect(network.contains(try #require(IPAddress(address))) == expected)
    }

    @Test(arguments: [
        ("127.0.0.0/8", "::ffff:127.0.0.1", true),
        ("127.0.0.0/8", "::ffff:128.0.0.1", false),
        ("10.0.0.0/8", "::10.0.0.1", false),  // IPv4-compatible, not mapped
        ("10.0.0.0/8", "64:ff9b::10.0.0.1", false),
        ("::ffff:10.0.0.0/104", "10.1.2.3", true),
        ("::ffff:10.0.0.0/104", "11.1.2.3", false),
    ])
    func matchesIPv4MappedAddresses(network: String, address: String, expected: Bool) throws {
        let network = try #require(IPNetwork(network))
        #expect(network.contains(try #require(IPAddress(address))) == expected)
    }

    @Test func buildsFromAddressAndPrefix() {
        #expect(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: 8)?.description == "10.0.0.0/8")
        #expect(IPNetwork(address: IPAddress("10.0.0.1")!, prefixLength: 8) == nil)
        #expect(IPNetwork(address: IPAddress("10.0.0.0")!, prefixLength: 33) == nil)
    }

    @Test func explainsItsRefusals() {
        #expect(throws: ConfigurationError(reason: #""10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?"#)) {
            try IPNetwork(parsing: "10.0.0.1/8")
        }
        #expect(throws: ConfigurationError(reason: #"the prefix length in "::/200" must be 0 to 128"#)) {
            try IPNetwork(parsing: "::/200")
        }
    }
}
