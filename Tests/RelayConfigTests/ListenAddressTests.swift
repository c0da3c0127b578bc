import RelayConfig
import Testing

@Suite struct ListenAddressTests {
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
