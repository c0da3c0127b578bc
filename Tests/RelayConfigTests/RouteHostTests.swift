import RelayConfig
import Testing

@Suite struct RouteHostTests {
    @Test(arguments: [
        ("smtp.provider.net:587", "smtp.provider.net", 587, false, "smtp.provider.net:587"),
        ("smtp.provider.net", "smtp.provider.net", 25, false, "smtp.provider.net:25"),
        ("[192.0.2.1]:25", "192.0.2.1", 25, true, "[192.0.2.1]:25"),
        ("[192.0.2.1]", "192.0.2.1", 25, true, "[192.0.2.1]:25"),
        ("192.0.2.1:2525", "192.0.2.1", 2525, true, "[192.0.2.1]:2525"),
        ("[2001:db8::1]:465", "2001:db8::1", 465, true, "[2001:db8::1]:465"),
        ("[mx.example.com]:25", "mx.example.com", 25, true, "[mx.example.com]:25"),
    ])
    func parses(text: String, host: String, port: Int, isLiteral: Bool, printed: String) throws {
        let routeHost = try RouteHost(parsing: text)
        #expect(routeHost.host == host)
        #expect(routeHost.port == port)
        #expect(routeHost.isLiteral == isLiteral)
        #expect(routeHost.description == printed)
        #expect(try RouteHost(parsing: printed) == routeHost)
    }

    @Test(arguments: [
        "", ":25", "host:0", "host:65536", "[192.0.2.1", "2001:db8::1", "bad_host", "[bad_host]:25", "h:25:25",
    ])
    func refuses(text: String) {
        #expect(throws: ConfigurationError.self) { try RouteHost(parsing: text) }
    }
}
