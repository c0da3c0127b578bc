import RelayDNS
import Testing

private typealias W = DNSWire

@Suite struct DNSMessageTests {
    // MARK: Records

    @Test func parsesAnARecord() throws {
        let bytes = W(question: ("example.com", 1), answers: [W.a(ttl: 3600, [192, 0, 2, 1])]).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.responseCode == .noError)
        #expect(!message.truncated)
        #expect(!message.authenticData)
        #expect(message.answers.count == 1)
        #expect(message.authority.isEmpty)
        let record = try #require(message.answers.first)
        #expect(record.name == "example.com")
        #expect(record.type == 1)
        #expect(record.ttl == 3600)
        #expect(record.data == .a([192, 0, 2, 1]))
    }

    @Test func parsesAAAARecords() throws {
        let first: [UInt8] = [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [1]
        let second: [UInt8] = Array(0..<16)
        let bytes = W(question: ("example.com", 28), answers: [W.aaaa(first), W.aaaa(owner: W.name("example.com"), ttl: 60, second)])
            .bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [.aaaa(first), .aaaa(second)])
        #expect(message.answers.map(\.ttl) == [300, 60])
        #expect(message.answers.map(\.name) == ["example.com", "example.com"])
    }

    @Test func parsesMXWithTheExchangeBehindACompressionPointer() throws {
        // "mx1" followed by a pointer to the question's "example.com".
        let bytes = W(
            question: ("example.com", 15),
            answers: [
                W.mx(10, W.labels("mx1") + W.questionName),
                W.mx(20, W.questionName),
                W.mx(owner: W.name("example.com"), 30, W.name("mx3.example.net")),
            ]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [
            .mx(preference: 10, exchange: "mx1.example.com"),
            .mx(preference: 20, exchange: "example.com"),
            .mx(preference: 30, exchange: "mx3.example.net"),
        ])
        #expect(message.answers.allSatisfy { $0.name == "example.com" && $0.type == 15 })
    }

    @Test func aPointerMayPointIntoAnEarlierRecord() throws {
        // Offset of the first answer's rdata exchange "mx1.example.com": header 12, question
        // 13 + 4, then owner pointer 2, type/class/ttl/rdlength 10, preference 2.
        let firstExchange = 12 + 17 + 2 + 10 + 2
        let bytes = W(
            question: ("example.com", 15),
            answers: [W.mx(10, W.labels("mx1") + W.questionName), W.mx(20, W.labels("backup") + W.pointer(firstExchange))]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.last?.data == .mx(preference: 20, exchange: "backup.mx1.example.com"))
    }

    @Test func aNullMXExchangeIsTheRoot() throws {
        let message = try DNSMessage(parsing: W.mxAnswer("example.com", [(0, ".")]))
        #expect(message.answers.first?.data == .mx(preference: 0, exchange: "."))
    }

    @Test func parsesACNAMEChain() throws {
        let bytes = W(
            question: ("www.example.com", 1),
            answers: [W.cname(W.name("edge.example.net")), W.a(owner: W.name("edge.example.net"), ttl: 20, [198, 51, 100, 7])]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [.cname("edge.example.net"), .a([198, 51, 100, 7])])
        #expect(message.answers.map(\.name) == ["www.example.com", "edge.example.net"])
        #expect(message.answers.map(\.type) == [5, 1])
    }

    @Test func anNXDOMAINCarriesTheSOAMinimumInTheAuthoritySection() throws {
        let message = try DNSMessage(parsing: W.negative("nosuch.example.com", type: 15, responseCode: 3, soaTTL: 900, minimum: 300))
        #expect(message.responseCode == .nameError)
        #expect(message.answers.isEmpty)
        #expect(message.authority.count == 1)
        #expect(message.authority.first?.data == .soa(minimum: 300))
        #expect(message.authority.first?.ttl == 900)
        #expect(message.authority.first?.type == 6)
    }

    @Test func parsesTXTStrings() throws {
        let bytes = W(
            question: ("example.com", 16),
            answers: [W.txt(["v=spf1 -all"]), W.txt(["part one ", "part two", ""]), W.txt([String(repeating: "z", count: 255)])]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [
            .txt(["v=spf1 -all"]), .txt(["part one ", "part two", ""]), .txt([String(repeating: "z", count: 255)]),
        ])
    }

    @Test func anEmptyTXTRecordHasNoStrings() throws {
        let bytes = W(question: ("example.com", 16), answers: [W.record(W.questionName, type: 16, ttl: 1, rdata: [])]).bytes
        #expect(try DNSMessage(parsing: bytes).answers.first?.data == .txt([]))
    }

    @Test func parsesTLSA() throws {
        let digest: [UInt8] = (0..<32).map { UInt8($0 * 7 & 0xFF) }
        let bytes = W(
            question: ("_25._tcp.mx1.example.com", 52),
            answers: [W.tlsa(usage: 3, selector: 1, matchingType: 1, digest), W.tlsa(usage: 2, selector: 0, matchingType: 0, [])]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [
            .tlsa(usage: 3, selector: 1, matchingType: 1, data: digest),
            .tlsa(usage: 2, selector: 0, matchingType: 0, data: []),
        ])
        #expect(message.answers.first?.name == "_25._tcp.mx1.example.com")
    }

    @Test func otherTypesAreKeptAsTheirTypeOnly() throws {
        let bytes = W(
            question: ("example.com", 46),
            answers: [W.record(W.questionName, type: 46, ttl: 5, rdata: [1, 2, 3, 4, 5, 6, 7]), W.a([10, 0, 0, 1])]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.map(\.data) == [.other(type: 46), .a([10, 0, 0, 1])])
    }

    @Test func theAdditionalSectionIsSkipped() throws {
        let bytes = W(
            question: ("example.com", 15), answers: [W.mx(10, W.labels("mx1") + W.questionName)],
            additional: [W.a(owner: W.labels("mx1") + W.questionName, [192, 0, 2, 25])]
        ).bytes
        let message = try DNSMessage(parsing: bytes)
        #expect(message.answers.count == 1)
        #expect(message.authority.isEmpty)
    }

    @Test func aMessageWithoutAQuestionParses() throws {
        let message = try DNSMessage(parsing: W(question: nil, answers: [W.a(owner: W.name("example.com"), [127, 0, 0, 1])]).bytes)
        #expect(message.answers.first?.name == "example.com")
    }

    @Test func theLongestNameParses() throws {
        // 3 × (1 + 63) + (1 + 61) + 1 = 255 octets.
        let longest = [String](repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "."
            + String(repeating: "b", count: 61)
        try #require(W.name(longest).count == 255)
        let bytes = W(question: (longest, 1), answers: [W.a([192, 0, 2, 1])]).bytes
        #expect(try DNSMessage(parsing: bytes).answers.first?.name == longest)
    }

    // MARK: Flags

    @Test(arguments: [
        (0x8180 as UInt16, false, false), (0x8380, true, false), (0x81A0, false, true), (0x83A0, true, true),
    ])
    func readsTheTCAndADBits(flags: UInt16, truncated: Bool, authenticData: Bool) throws {
        let message = try DNSMessage(parsing: W(question: ("example.com", 1), flags: flags).bytes)
        #expect(message.truncated == truncated)
        #expect(message.authenticData == authenticData)
    }

    @Test(arguments: [
        (0 as UInt16, DNSMessage.ResponseCode.noError), (1, .formatError), (2, .serverFailure), (3, .nameError),
        (4, .notImplemented), (5, .refused), (9, .other(9)), (15, .other(15)),
    ])
    func readsTheResponseCode(value: UInt16, expected: DNSMessage.ResponseCode) throws {
        let message = try DNSMessage(parsing: W(question: ("example.com", 15), responseCode: value).bytes)
        #expect(message.responseCode == expected)
        #expect(message.answers.isEmpty)
    }

    @Test func aServerFailureWithAllFlagsSet() throws {
        let message = try DNSMessage(parsing: W(question: ("example.com", 15), responseCode: 2, flags: 0xFFF0).bytes)
        #expect(message.responseCode == .serverFailure)
        #expect(message.truncated)
        #expect(message.authenticData)
    }

    @Test(arguments: [("Example.COM.", "example.com"), ("example.com", "example.com"), (".", "."), ("MX1.Example.Net", "mx1.example.net")])
    func canonicalNamesAreLowerCaseWithoutTheTrailingDot(name: String, expected: String) {
        #expect(DNSMessage.canonical(name) == expected)
    }

    // MARK: Malformed input

    private static func expectFailure(
        _ bytes: [UInt8], _ error: DNSMessage.ParseError? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        do throws(DNSMessage.ParseError) {
            let message = try DNSMessage(parsing: bytes)
            Issue.record("parsed a malformed message: \(message)", sourceLocation: sourceLocation)
        } catch let thrown {
            if let error { #expect(thrown == error, sourceLocation: sourceLocation) }
        }
    }

    @Test(arguments: 0..<12)
    func aTruncatedHeaderThrows(length: Int) {
        let bytes = W(question: ("example.com", 1), answers: [W.a([192, 0, 2, 1])]).bytes
        Self.expectFailure(Array(bytes.prefix(length)), .truncated)
    }

    @Test func aHeaderCountingMoreRecordsThanThereAreThrows() {
        var bytes = W(question: ("example.com", 1), answers: [W.a([192, 0, 2, 1])]).bytes
        bytes[7] = 2  // ANCOUNT 2, one present
        Self.expectFailure(bytes, .truncated)
        var questions = W(question: ("example.com", 1)).bytes
        questions[5] = 2  // QDCOUNT 2, one present
        Self.expectFailure(questions, .truncated)
    }

    @Test func aTruncatedRecordThrows() {
        let full = W(question: ("example.com", 1), answers: [W.a([192, 0, 2, 1])]).bytes
        // Cut inside the fixed fields of the answer (after owner pointer, inside TTL).
        let questionEnd = 12 + 13 + 4
        Self.expectFailure(Array(full.prefix(questionEnd + 2 + 5)), .truncated)
        // Cut inside the rdata.
        Self.expectFailure(Array(full.dropLast(1)), .truncated)
    }

    @Test func anRDLengthPastTheEndThrows() {
        let bytes = W(
            question: ("example.com", 1),
            answers: [W.record(W.questionName, type: 1, ttl: 1, rdata: [192, 0, 2, 1], rdlength: 40)]
        ).bytes
        Self.expectFailure(bytes, .truncated)
        let other = W(
            question: ("example.com", 99),
            answers: [W.record(W.questionName, type: 99, ttl: 1, rdata: [1, 2], rdlength: 0xFFFF)]
        ).bytes
        Self.expectFailure(other, .truncated)
    }

    @Test(arguments: [
        (1 as UInt16, [192, 0, 2, 1, 9] as [UInt8]),
        (1, [192, 0, 2]),
        (1, []),
        (28, [UInt8](repeating: 1, count: 15)),
        (28, [UInt8](repeating: 1, count: 17)),
        (28, [192, 0, 2, 1]),
        (52, [3, 1]),
    ] as [(UInt16, [UInt8])])
    func aRecordOfTheWrongLengthThrows(type: UInt16, rdata: [UInt8]) {
        let bytes = W(
            question: ("example.com", type), answers: [W.record(W.questionName, type: type, ttl: 1, rdata: rdata)]
        ).bytes
        Self.expectFailure(bytes, .badRecord)
    }

    @Test func dataRunningPastTheRDLengthThrows() {
        // MX whose exchange is longer than the rdlength says (more data follows, so nothing is truncated).
        let mx = W.record(W.questionName, type: 15, ttl: 1, rdata: W.u16(10) + W.name("mx1.example.com"), rdlength: 6)
        Self.expectFailure(W(question: ("example.com", 15), answers: [mx], additional: [W.a([1, 2, 3, 4])]).bytes, .badRecord)
        // TXT whose string length crosses the rdlength.
        let txt = W.record(W.questionName, type: 16, ttl: 1, rdata: [10] + Array("0123456789".utf8), rdlength: 5)
        Self.expectFailure(W(question: ("example.com", 16), answers: [txt], additional: [W.a([1, 2, 3, 4])]).bytes, .badRecord)
        // SOA shorter than its names and five numbers.
        let soa = W.record(W.questionName, type: 6, ttl: 1, rdata: [0, 0] + [UInt8](repeating: 0, count: 19), rdlength: 21)
        Self.expectFailure(W(question: ("example.com", 6), authority: [soa], additional: [W.a([1, 2, 3, 4])]).bytes, .badRecord)
    }

    @Test func aPointerForwardsThrows() {
        // The answer's owner points past itself, at the rdata.
        let ownerOffset = 12 + 13 + 4
        let bytes = W(question: ("example.com", 1), answers: [W.a(owner: W.pointer(ownerOffset + 12), [192, 0, 2, 1])]).bytes
        Self.expectFailure(bytes, .badName)
    }

    @Test func aPointerToItselfThrows() {
        let ownerOffset = 12 + 13 + 4
        let bytes = W(question: ("example.com", 1), answers: [W.a(owner: W.pointer(ownerOffset), [192, 0, 2, 1])]).bytes
        Self.expectFailure(bytes, .badName)
        // In the question, too.
        var question = W(question: nil).bytes
        question[5] = 1
        question += W.pointer(12) + W.u16(1) + W.u16(1)
        Self.expectFailure(question, .badName)
    }

    @Test func aLoopThroughALabelAndABackwardPointerThrows() {
        // At 29: label "a", then a pointer back to 29. Every pointer goes backwards, yet it loops.
        let ownerOffset = 12 + 13 + 4
        let bytes = W(question: ("example.com", 1), answers: [W.a(owner: [1, UInt8(ascii: "a")] + W.pointer(ownerOffset), [192, 0, 2, 1])])
            .bytes
        Self.expectFailure(bytes, .badName)
    }

    @Test func twoPointersPointingAtEachOtherThrow() {
        // Owner at 29 points to 31, which points back to 29.
        let ownerOffset = 12 + 13 + 4
        var bytes = W(question: ("example.com", 1)).bytes
        bytes[7] = 1
        bytes += W.pointer(ownerOffset + 2) + W.pointer(ownerOffset) + W.u16(1) + W.u16(1) + W.u32(1) + W.u16(4) + [1, 2, 3, 4]
        Self.expectFailure(bytes)
    }

    @Test(arguments: [0x40 as UInt8, 0x80, 0x41, 0xBF])
    func aLabelLengthWithReservedBitsThrows(length: UInt8) {
        var bytes = W(question: nil).bytes
        bytes[7] = 1
        bytes += [length] + [UInt8](repeating: UInt8(ascii: "a"), count: Int(length & 0x3F)) + [0]
        bytes += W.u16(1) + W.u16(1) + W.u32(1) + W.u16(4) + [1, 2, 3, 4]
        bytes += [UInt8](repeating: 0, count: 256)
        Self.expectFailure(bytes, .badName)
    }

    @Test func aNameLongerThan255OctetsThrows() {
        // 4 × (1 + 63) + 1 = 257 octets.
        let long = [String](repeating: String(repeating: "a", count: 63), count: 4).joined(separator: ".")
        Self.expectFailure(W(question: (long, 1)).bytes, .badName)
        // 3 × (1 + 63) + (1 + 62) + 1 = 256 octets: one too many.
        let justOver = [String](repeating: String(repeating: "a", count: 63), count: 3).joined(separator: ".") + "."
            + String(repeating: "b", count: 62)
        #expect(W.name(justOver).count == 256)
        Self.expectFailure(W(question: (justOver, 1)).bytes, .badName)
    }

    @Test func aNameMadeTooLongThroughPointersThrows() {
        // The question is 200 octets; an answer owner adds 63 + 1 more and then points to it.
        let question = [String](repeating: String(repeating: "q", count: 49), count: 4).joined(separator: ".")
        #expect(W.name(question).count == 201)
        let owner = W.labels(String(repeating: "x", count: 63)) + W.questionName
        Self.expectFailure(W(question: (question, 1), answers: [W.a(owner: owner, [192, 0, 2, 1])]).bytes, .badName)
    }

    // MARK: Robustness

    /// A message with one of everything.
    static let rich: [UInt8] = W(
        question: ("example.com", 15),
        flags: 0x83A0,
        answers: [
            W.mx(10, W.labels("mx1") + W.questionName),
            W.mx(20, W.name("mx2.example.net")),
            W.cname(W.labels("alias") + W.questionName),
            W.a([192, 0, 2, 1]),
            W.aaaa(Array(0..<16)),
            W.txt(["v=spf1 -all", "x"]),
            W.tlsa(usage: 3, selector: 1, matchingType: 1, [UInt8](repeating: 0xAB, count: 32)),
            W.record(W.questionName, type: 99, ttl: 7, rdata: [1, 2, 3]),
        ],
        authority: [W.soa(ttl: 900, minimum: 300)],
        additional: [richAdditional]
    ).bytes
    static let richAdditional = W.a(owner: W.labels("mx1") + W.questionName, [192, 0, 2, 25])

    @Test func theRichMessageParses() throws {
        let message = try DNSMessage(parsing: Self.rich)
        #expect(message.answers.count == 8)
        #expect(message.authority.count == 1)
        #expect(message.truncated && message.authenticData)
    }

    @Test func everyPrefixOfAValidMessageThrowsOrParses() {
        var parsed = 0
        for length in 0...Self.rich.count {
            if (try? DNSMessage(parsing: Array(Self.rich.prefix(length)))) != nil { parsed += 1 }
        }
        // The additional section is not read, so only the prefixes that hold every answer and
        // authority record parse.
        #expect(parsed == Self.richAdditional.count + 1)
    }

    @Test func randomBytesNeverCrash() {
        var generator = SeededGenerator(seed: 0x5EED_D15C)
        var parsed = 0
        for _ in 0..<4_000 {
            let count = Int.random(in: 0..<160, using: &generator)
            var bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Small counts make it past the header more often.
            if bytes.count >= 12, Bool.random(using: &generator) {
                for index in [4, 6, 8, 10] { bytes[index] = 0 }
                bytes[5] = UInt8.random(in: 0...2, using: &generator)
                bytes[7] = UInt8.random(in: 0...3, using: &generator)
                bytes[9] = UInt8.random(in: 0...1, using: &generator)
            }
            if (try? DNSMessage(parsing: bytes)) != nil { parsed += 1 }
        }
        #expect(parsed >= 0)
    }

    @Test func mutationsOfAValidMessageNeverCrash() {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<4_000 {
            var bytes = Self.rich
            for _ in 0..<Int.random(in: 1...4, using: &generator) {
                let index = Int.random(in: 0..<bytes.count, using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            if Bool.random(using: &generator) { bytes = Array(bytes.prefix(Int.random(in: 0...bytes.count, using: &generator))) }
            _ = try? DNSMessage(parsing: bytes)
        }
    }
}
