import Testing

@testable import RelayDNS

@Suite struct ClientNameResolverReverseNameTests {
    @Test func ipv4ReverseName() {
        #expect(ClientNameResolver.reverseName("192.0.2.10") == "10.2.0.192.in-addr.arpa")
    }

    @Test func ipv6ReverseName() {
        #expect(
            ClientNameResolver.reverseName("2001:db8::567:89ab")
                == "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa")
    }

    @Test func notAnAddress() {
        #expect(ClientNameResolver.reverseName("host.example") == nil)
    }
}
