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

    @Test func onlyHostsBeforeTheFirstOfOursAreTried() {
        #expect(MailLoop.hostsBeforeSelf(["mx1", "self", "mx3"]) { $0 == "self" } == ["mx1"])
        #expect(MailLoop.hostsBeforeSelf(["self", "mx2"]) { $0 == "self" } == [])
        #expect(MailLoop.hostsBeforeSelf(["mx1", "mx2"]) { $0 == "self" } == ["mx1", "mx2"])
    }

    @Test func theBounceIsPostfixs() {
        #expect(MailLoop.status == "5.4.6")
        #expect(MailLoop.reason("example.com") == "mail for example.com loops back to myself")
    }
}
