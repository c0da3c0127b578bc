import DeliveryCore
import NIOCore
import SMTPCore
import Testing

@Suite struct ReplyOutcomeTests {
    @Test(arguments: [
        (250, EnhancedStatusCode(2, 1, 5), ReplyOutcome.delivered(status: "2.1.5")),
        (250, nil, .delivered(status: "2.0.0")),
        (251, EnhancedStatusCode(2, 1, 5), .delivered(status: "2.1.5")),
        (299, nil, .delivered(status: "2.0.0")),
        (421, nil, .deferred(status: "4.0.0")),
        (450, EnhancedStatusCode(4, 2, 0), .deferred(status: "4.2.0")),
        (451, EnhancedStatusCode(4, 7, 1), .deferred(status: "4.7.1")),
        (452, nil, .deferred(status: "4.0.0")),
        (499, nil, .deferred(status: "4.0.0")),
        (550, EnhancedStatusCode(5, 1, 1), .bounced(status: "5.1.1")),
        (552, EnhancedStatusCode(5, 3, 4), .bounced(status: "5.3.4")),
        (554, nil, .bounced(status: "5.0.0")),
        (556, EnhancedStatusCode(5, 1, 10), .bounced(status: "5.1.10")),
        (599, nil, .bounced(status: "5.0.0")),
    ] as [(Int, EnhancedStatusCode?, ReplyOutcome)])
    func repliesMapToOutcomesByClass(code: Int, enhanced: EnhancedStatusCode?, expected: ReplyOutcome) {
        #expect(ReplyOutcome(SMTPReply(code: code, enhanced, "text")) == expected)
    }

    /// As the delivery session sees them: decoded from the wire, enhanced code split off.
    @Test(arguments: [
        ("250 2.0.0 Ok: queued as 4Xyz\r\n", ReplyOutcome.delivered(status: "2.0.0")),
        ("250 Ok\r\n", .delivered(status: "2.0.0")),
        ("451-4.7.1 Greylisted,\r\n451 4.7.1 try again later\r\n", .deferred(status: "4.7.1")),
        ("450 mailbox busy\r\n", .deferred(status: "4.0.0")),
        ("550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n", .bounced(status: "5.1.1")),
        ("554 Transaction failed\r\n", .bounced(status: "5.0.0")),
    ])
    func decodedRepliesMapToOutcomes(wire: String, expected: ReplyOutcome) throws {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: wire)
        let reply = try #require(try decoder.next(&buffer))
        #expect(ReplyOutcome(reply) == expected)
    }

    @Test(arguments: [
        (SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "Ok"), "250 2.0.0 Ok"),
        (SMTPReply(code: 250, nil, "Ok"), "250 Ok"),
        (SMTPReply(code: 550, EnhancedStatusCode(5, 1, 1), "<a@example.com>: unknown user"), "550 5.1.1 <a@example.com>: unknown user"),
        (SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), ""), "250 2.0.0"),
        (SMTPReply(code: 354, nil, [String]()), "354"),
        (SMTPReply(code: 421, nil, ""), "421"),
    ])
    func aOneLineReplyIsRenderedAsOnTheWire(reply: SMTPReply, expected: String) {
        #expect(ReplyOutcome.text(of: reply) == expected)
    }

    @Test(arguments: [
        (
            SMTPReply(code: 550, EnhancedStatusCode(5, 7, 1), ["Message rejected", "see https://example.com/why"]),
            "550 5.7.1 Message rejected see https://example.com/why"
        ),
        (
            SMTPReply(code: 250, nil, ["mx.example.com Hello", "PIPELINING", "SIZE 1000"]),
            "250 mx.example.com Hello PIPELINING SIZE 1000"
        ),
        (SMTPReply(code: 451, EnhancedStatusCode(4, 3, 0), ["", "try later"]), "451 4.3.0 try later"),
        (SMTPReply(code: 452, nil, ["a", "b", "c"]), "452 a b c"),
    ])
    func aMultiLineReplyIsJoinedIntoOneLine(reply: SMTPReply, expected: String) {
        let text = ReplyOutcome.text(of: reply)
        #expect(text == expected)
        #expect(!text.contains("\r") && !text.contains("\n"))
    }

    @Test func aDecodedMultiLineReplyIsOneLineWithTheEnhancedCodeOnce() throws {
        var decoder = SMTPReplyDecoder()
        var buffer = ByteBuffer(string: "550-5.7.1 first line\r\n550-5.7.1 second line\r\n550 5.7.1 third line\r\n")
        let reply = try #require(try decoder.next(&buffer))
        #expect(ReplyOutcome.text(of: reply) == "550 5.7.1 first line second line third line")
    }
}
