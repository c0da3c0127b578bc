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
}
