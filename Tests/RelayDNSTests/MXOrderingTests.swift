import RelayDNS
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

private typealias W = DNSWire

private func message(_ bytes: [UInt8]) throws -> DNSMessage { try DNSMessage(parsing: bytes) }

private func hosts(_ plan: MXOrdering.Plan) -> [String]? {
    if case .hosts(let hosts) = plan { return hosts.map { "\($0.preference) \($0.name)" } }
    return nil
}

@Suite struct MXOrderingTests {
    @Test func exchangesAreSortedByPreference() throws {
        let answer = try message(W.mxAnswer("example.com", [(20, "b.example.com"), (10, "a.example.com"), (30, "c.example.com"), (5, "e.example.net")]))
        let plan = MXOrdering.plan(for: "example.com", answer: answer, shuffle: { $0 })
        #expect(hosts(plan) == ["5 e.example.net", "10 a.example.com", "20 b.example.com", "30 c.example.com"])
    }

    @Test func theShuffleOrdersOnlyHostsOfEqualPreference() throws {
        let answer = try message(W.mxAnswer("example.com", [
            (10, "a.example.com"), (20, "c.example.com"), (10, "b.example.com"), (5, "e.example.com"),
            (20, "d.example.com"), (10, "f.example.com"),
        ]))
        var groups: [[String]] = []
        let plan = MXOrdering.plan(for: "example.com", answer: answer) { group in
            groups.append(group.map { "\($0.preference) \($0.name)" })
            return group.reversed()
        }
        #expect(hosts(plan) == [
            "5 e.example.com",
            "10 f.example.com", "10 b.example.com", "10 a.example.com",
            "20 d.example.com", "20 c.example.com",
        ])
        // Every call saw one preference only, and the groups in ascending order.
        for group in groups {
            #expect(Set(group.map { $0.split(separator: " ")[0] }).count == 1, "\(group)")
        }
        #expect(groups.flatMap { $0 }.count == 6)
        #expect(groups.filter { $0.count > 1 } == [
            ["10 a.example.com", "10 b.example.com", "10 f.example.com"], ["20 c.example.com", "20 d.example.com"],
        ])
    }

    @Test func theDefaultShuffleKeepsThePreferenceOrder() throws {
        let answer = try message(W.mxAnswer("example.com", [
            (20, "c.example.com"), (10, "a.example.com"), (10, "b.example.com"), (20, "d.example.com"),
        ]))
        for _ in 0..<50 {
            guard case .hosts(let ordered) = MXOrdering.plan(for: "example.com", answer: answer) else {
                Issue.record("no hosts")
                return
            }
            #expect(ordered.map(\.preference) == [10, 10, 20, 20])
            #expect(Set(ordered.prefix(2).map(\.name)) == ["a.example.com", "b.example.com"])
            #expect(Set(ordered.suffix(2).map(\.name)) == ["c.example.com", "d.example.com"])
        }
    }

    @Test func compressedExchangesAreUsedAsNames() throws {
        let answer = try message(
            W(question: ("example.com", 15), answers: [W.mx(10, W.labels("mx1") + W.questionName), W.mx(10, W.questionName)]).bytes)
        let plan = MXOrdering.plan(for: "example.com", answer: answer, shuffle: { $0 })
        #expect(hosts(plan) == ["10 mx1.example.com", "10 example.com"])
    }

    @Test func noMXRecordsMeansTheDomainIsItsOwnMX() throws {
        let empty = try message(W(question: ("example.com", 15)).bytes)
        #expect(MXOrdering.plan(for: "example.com", answer: empty, shuffle: { $0 }) == .hosts([("example.com", 0)]))
        // NODATA with an SOA in the authority section.
        let nodata = try message(W.negative("example.com", type: 15, responseCode: 0))
        #expect(hosts(MXOrdering.plan(for: "example.com", answer: nodata, shuffle: { $0 })) == ["0 example.com"])
        // Only a CNAME and its target's address: still no MX.
        let alias = try message(
            W(question: ("example.com", 15), answers: [W.cname(W.name("other.example.net")), W.a(owner: W.name("other.example.net"), [192, 0, 2, 1])])
                .bytes)
        #expect(hosts(MXOrdering.plan(for: "example.com", answer: alias, shuffle: { $0 })) == ["0 example.com"])
    }

    @Test func aNullMXIsAPermanentFailure() throws {
        let answer = try message(W.mxAnswer("example.com", [(0, ".")]))
        let plan = MXOrdering.plan(for: "example.com", answer: answer, shuffle: { $0 })
        guard case .permanent(let status, let reason) = plan else {
            Issue.record("expected a permanent failure, got \(plan)")
            return
        }
        #expect(status == "5.1.10")
        #expect(reason.contains("example.com"))
    }

    @Test func theShuffleIsNotAskedForANullMX() throws {
        let answer = try message(W.mxAnswer("example.com", [(0, ".")]))
        var called = false
        _ = MXOrdering.plan(for: "example.com", answer: answer) { called = true; return $0 }
        #expect(!called)
    }

    @Test func anNXDOMAINIsAPermanentFailure() throws {
        let answer = try message(W.negative("nosuch.example", type: 15, responseCode: 3))
        let plan = MXOrdering.plan(for: "nosuch.example", answer: answer, shuffle: { $0 })
        guard case .permanent(let status, let reason) = plan else {
            Issue.record("expected a permanent failure, got \(plan)")
            return
        }
        #expect(status == "5.1.2")
        #expect(reason.contains("nosuch.example"))
    }

    @Test(arguments: [2 as UInt16, 5, 1, 4, 9])
    func otherResponseCodesAreTemporary(code: UInt16) throws {
        // Even with MX records in the answer.
        let answer = try message(
            W(question: ("example.com", 15), responseCode: code, answers: [W.mx(10, W.name("mx.example.com"))]).bytes)
        let plan = MXOrdering.plan(for: "example.com", answer: answer, shuffle: { $0 })
        guard case .temporary(let reason) = plan else {
            Issue.record("expected a temporary failure, got \(plan)")
            return
        }
        #expect(reason.contains("example.com"))
    }

    @Test func aServerFailureIsTemporary() throws {
        let answer = try message(W(question: ("example.com", 15), responseCode: 2).bytes)
        guard case .temporary = MXOrdering.plan(for: "example.com", answer: answer, shuffle: { $0 }) else {
            Issue.record("SERVFAIL must be temporary")
            return
        }
    }

    // MARK: addresses(in:)

    @Test func aAnswersGiveDottedQuads() throws {
        let answer = try message(
            W(question: ("mx.example.com", 1), answers: [W.a([192, 0, 2, 1]), W.a([198, 51, 100, 255]), W.a([0, 0, 0, 0])]).bytes)
        #expect(MXOrdering.addresses(in: answer) == ["192.0.2.1", "198.51.100.255", "0.0.0.0"])
    }

    @Test func otherRecordsAreSkipped() throws {
        let answer = try message(
            W(question: ("mx.example.com", 1), answers: [W.cname(W.name("edge.example.net")), W.a(owner: W.name("edge.example.net"), [203, 0, 113, 9])])
                .bytes)
        #expect(MXOrdering.addresses(in: answer) == ["203.0.113.9"])
        #expect(MXOrdering.addresses(in: try message(W.negative("mx.example.com", type: 1, responseCode: 3))) == [])
    }

    @Test func aNoZeroGroupIPv6AddressIsWrittenInLowerCaseHex() throws {
        let bytes: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0x00, 0x01, 0x00, 0x22, 0x03, 0x33, 0x44, 0x44, 0xAB, 0xCD, 0xEF, 0x0F]
        let answer = try message(W(question: ("mx.example.com", 28), answers: [W.aaaa(bytes)]).bytes)
        #expect(MXOrdering.addresses(in: answer) == ["2001:db8:1:22:333:4444:abcd:ef0f"])
    }

    static let ipv6Samples: [[UInt8]] = [
        [0x20, 0x01, 0x0D, 0xB8] + [UInt8](repeating: 0, count: 11) + [1],
        [UInt8](repeating: 0, count: 15) + [1],
        [UInt8](repeating: 0, count: 16),
        [0xFE, 0x80] + [UInt8](repeating: 0, count: 6) + [0x02, 0x00, 0x5E, 0xFF, 0xFE, 0x00, 0x53, 0x00],
        [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF, 192, 0, 2, 1],
        [UInt8](repeating: 0xFF, count: 16),
        Array(0..<16),
    ]

    /// The text is an IPv6 address that means the same 16 octets, in one of RFC 4291 §2.2's forms.
    @Test(arguments: ipv6Samples)
    func ipv6AddressesAreValidTextForTheSameAddress(bytes: [UInt8]) throws {
        let answer = try message(W(question: ("mx.example.com", 28), answers: [W.aaaa(bytes)]).bytes)
        let text = try #require(MXOrdering.addresses(in: answer).first)
        #expect(text == text.lowercased())
        var parsed = in6_addr()
        #expect(inet_pton(AF_INET6, text, &parsed) == 1, "\(text)")
        let octets = withUnsafeBytes(of: &parsed) { Array($0) }
        #expect(octets == bytes, "\(text)")
    }

    @Test func aAndAAAAAreKeptInAnswerOrder() throws {
        let v6: [UInt8] = [0x20, 0x01, 0x0D, 0xB8, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6]
        let answer = try message(W(question: ("mx.example.com", 1), answers: [W.aaaa(v6), W.a([192, 0, 2, 1])]).bytes)
        #expect(MXOrdering.addresses(in: answer) == ["2001:db8:1:2:3:4:5:6", "192.0.2.1"])
    }
}
