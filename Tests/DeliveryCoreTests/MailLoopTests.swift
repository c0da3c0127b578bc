import DeliveryCore
import SMTPCore
import Testing

@Suite struct MailLoopTests {
    @Test func aGreetingWithOurHostnameIsALoop() {
        let greeting = SMTPReply(code: 220, nil, "Relay.Example. ESMTP ready")
        #expect(MailLoop.announces("relay.example", greeting: greeting, ehlo: nil))
    }

    @Test func anEHLOReplyWithOurHostnameIsALoop() {
        let greeting = SMTPReply(code: 220, nil, "ESMTP ready")
        let ehlo = SMTPReply(code: 250, nil, ["relay.example", "PIPELINING"])
        #expect(MailLoop.announces("relay.example", greeting: greeting, ehlo: ehlo))
    }

    @Test func anotherNameOrOursLaterInTheLineIsNot() {
        let greeting = SMTPReply(code: 220, nil, "mx.example.com ESMTP relay.example")
        let ehlo = SMTPReply(code: 250, nil, ["mx.example.com greets relay.example", "SIZE"])
        #expect(!MailLoop.announces("relay.example", greeting: greeting, ehlo: ehlo))
        #expect(!MailLoop.announces("relay.example", greeting: SMTPReply(code: 220, nil, ""), ehlo: nil))
    }

    @Test func onlyHostsBetterThanOursAreTried() {
        func better(_ hosts: [(String, Int)]) -> [String] {
            MailLoop.hostsBetterThanSelf(hosts, preference: \.1) { $0.0 == "self" }.map(\.0)
        }
        #expect(better([("mx1", 10), ("self", 20), ("mx3", 30)]) == ["mx1"])
        #expect(better([("self", 10), ("mx2", 20)]) == [])
        #expect(better([("mx1", 10), ("mx2", 20)]) == ["mx1", "mx2"])
        // The same preference as ours, in either order: never tried (it would be random).
        #expect(better([("peer", 10), ("self", 10)]) == [])
        #expect(better([("self", 10), ("peer", 10), ("mx0", 5)]) == ["mx0"])
    }

    @Test func theBounceIsPostfixs() {
        #expect(MailLoop.status == "5.4.6")
        #expect(MailLoop.reason("example.com") == "mail for example.com loops back to myself")
    }
}
