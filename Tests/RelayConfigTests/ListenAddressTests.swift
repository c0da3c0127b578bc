import RelayConfig
import Testing

@Suite struct ListenAddressTests {
    /// Two sockets that could not both be bound (SO_REUSEADDR does not help): check-config
    /// refuses such a pair.
    @Test(arguments: [
        ("0.0.0.0:25", "127.0.0.1:25", true),
        ("[::]:25", "127.0.0.1:25", true),
        ("[::0]:25", "[::1]:25", true),
        ("[::ffff:127.0.0.1]:25", "127.0.0.1:25", true),
        ("[0::1]:25", "[::1]:25", true),
        ("0.0.0.0:25", "localhost:25", true),
        ("localhost:25", "LOCALHOST:25", true),
        ("0.0.0.0:25", "[::1]:25", false),
        ("127.0.0.1:25", "127.0.0.2:25", false),
        ("0.0.0.0:25", "0.0.0.0:26", false),
        ("127.0.0.1:0", "127.0.0.1:0", false),
    ])
    func overlaps(first: String, second: String, clash: Bool) throws {
        let (a, b) = (try ListenAddress(parsing: first), try ListenAddress(parsing: second))
        #expect(a.overlaps(b) == clash)
        #expect(b.overlaps(a) == clash)
    }

    @Test(arguments: [
        ("0.0.0.0:25", "0.0.0.0", 25),
        ("[::]:587", "::", 587),
        ("[::1]:0", "::1", 0),
        ("localhost:2525", "localhost", 2525),
        ("127.0.0.1:65535", "127.0.0.1", 65535),
        ("mail.example.com:25", "mail.example.com", 25),
    ])
    func parses(text: String, host: String, port: Int) throws {
        let address = try ListenAddress(parsing: text)
        #expect(address == ListenAddress(host: host, port: port))
        #expect(address.description == text)
    }

    @Test(arguments: [
        "", "0.0.0.0", ":25", "0.0.0.0:", "0.0.0.0:65536", "0.0.0.0:-1", "0.0.0.0:2x", "[::]", "[::]587", "[::1:25",
        "::1:25", "[127.0.0.1]:25", "[localhost]:25", "bad_host:25", "0.0.0.0:25:25", "0.0.0.0: 25",
    ])
    func refuses(text: String) {
        #expect(throws: ConfigurationError.self) { try ListenAddress(parsing: text) }
    }

    /// An MX or route host that is one of our listeners is a mail loop (issue 13, hole 8).
    @Test(arguments: [
        ("127.0.0.1:25", "127.0.0.1", 25, true),
        ("127.0.0.1:25", "127.0.0.1", 2525, false),
        ("127.0.0.1:25", "127.0.0.2", 25, false),
        ("0.0.0.0:25", "127.0.0.2", 25, true),  // loopback, always ours
        ("0.0.0.0:25", "192.0.2.10", 25, true),  // one of the host's own addresses
        ("0.0.0.0:25", "192.0.2.11", 25, false),
        ("0.0.0.0:25", "::1", 25, false),  // 0.0.0.0 takes IPv4 only
        ("[::]:25", "::1", 25, true),
        ("[::]:25", "192.0.2.10", 25, true),  // dual-stack
        ("[::1]:25", "::ffff:127.0.0.1", 25, false),
        ("[::]:25", "2001:db8::1", 25, true),
        ("localhost:25", "127.0.0.1", 25, true),
        ("localhost:25", "192.0.2.10", 25, false),
        ("127.0.0.1:0", "127.0.0.1", 0, false),
    ])
    func receives(_ listener: String, _ address: String, _ port: Int, _ expected: Bool) throws {
        let local = [IPAddress("192.0.2.10")!, IPAddress("2001:db8::1")!]
        #expect(try ListenAddress(parsing: listener).receives(IPAddress(address)!, port: port, localAddresses: local) == expected)
    }
}
