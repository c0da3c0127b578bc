import NIOCore
import SMTPCore
import Testing

@Suite struct SMTPReplyTests {
    @Test func aOneLineReplyCarriesTheEnhancedCode() {
        let reply = SMTPReply(code: 250, EnhancedStatusCode(2, 1, 0), "Ok")
        #expect(reply.description == "250 2.1.0 Ok\r\n")
    }

    @Test func aMultiLineReplyUsesHyphensAndRepeatsTheEnhancedCodeOnEveryLine() {
        let reply = SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), ["first", "second", "third"])
        #expect(reply.description == "250-2.0.0 first\r\n250-2.0.0 second\r\n250 2.0.0 third\r\n")
    }

    @Test func aMultiLineReplyWithoutEnhancedCodeIsAnEHLOReply() {
        let reply = SMTPReply(code: 250, nil, ["relay.example.com", "PIPELINING", "SIZE 1000"])
        #expect(reply.description == "250-relay.example.com\r\n250-PIPELINING\r\n250 SIZE 1000\r\n")
    }

    @Test func anEmptyTextSendsTheCodesAloneWithoutTrailingBlanks() {
        #expect(SMTPReply(code: 354, nil, [String]()).description == "354\r\n")
        #expect(SMTPReply(code: 354, nil, [String]()).lines == [""])
        #expect(SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "").description == "250 2.0.0\r\n")
        #expect(SMTPReply(code: 250, nil, ["a", ""]).description == "250-a\r\n250\r\n")
    }

    @Test func writeAppendsTheWireFormToTheBuffer() {
        var buffer = ByteBuffer(string: "before|")
        SMTPReply(code: 221, EnhancedStatusCode(2, 0, 0), ["bye", "now"]).write(into: &buffer)
        #expect(String(buffer: buffer) == "before|221-2.0.0 bye\r\n221 2.0.0 now\r\n")
    }

    @Test(arguments: [(200, false), (354, false), (399, false), (400, true), (452, true), (599, true)])
    func isErrorForFourAndFiveHundreds(code: Int, isError: Bool) {
        #expect(SMTPReply(code: code, nil, "x").isError == isError)
    }

    @Test func enhancedStatusCodeIsWrittenClassSubjectDetail() {
        #expect(EnhancedStatusCode(5, 7, 11).description == "5.7.11")
        #expect(EnhancedStatusCode(2, 0, 0).description == "2.0.0")
    }

    /// The replies SPEC.md names, on the wire.
    @Test(arguments: [
        (SMTPReply.greeting("relay.example.com"), "220 relay.example.com ESMTP Relay\r\n"),
        (.ok, "250 2.0.0 Ok\r\n"),
        (.queued("01HXYZ"), "250 2.0.0 Ok: queued as 01HXYZ\r\n"),
        (.verifyNotSupported, "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"),
        (
            .shuttingDown("relay.example.com"),
            "421 4.3.2 relay.example.com Service shutting down, closing connection\r\n"
        ),
        (.tooManyErrors("relay.example.com"), "421 4.7.0 relay.example.com Error: too many errors\r\n"),
        (.storageFailure, "452 4.3.1 Insufficient system storage, try again later\r\n"),
        (.tooManyRecipients, "452 4.5.3 Too many recipients\r\n"),
        (.commandLineTooLong, "500 5.5.2 Error: line too long\r\n"),
        (.nulInCommand, "500 5.5.2 Error: NUL character in command\r\n"),
        (.notImplemented, "502 5.5.1 Error: command not implemented\r\n"),
        (.badSequence("need MAIL command"), "503 5.5.1 Error: need MAIL command\r\n"),
        (.bareLineFeed, "550 5.5.2 Error: bare <LF> received; lines must end in <CR><LF>\r\n"),
        (.bareCarriageReturn, "550 5.5.2 Error: bare <CR> received; lines must end in <CR><LF>\r\n"),
        (.textLineTooLong, "550 5.5.2 Error: message line too long\r\n"),
        (.messageTooBig, "552 5.3.4 Error: message size exceeds fixed limit\r\n"),
        (.smtputf8Required, "553 5.6.7 Error: must declare SMTPUTF8 to send a non-ASCII address\r\n"),
        (.transactionStuffing, "554 5.5.0 Error: improper command pipelining, closing connection\r\n"),
        (.relayDenied, "554 5.7.1 Relay access denied\r\n"),
        (.mailLoop, "554 5.4.6 Error: too many hops (mail loop)\r\n"),
    ])
    func standardReplyOnTheWire(reply: SMTPReply, wire: String) {
        #expect(reply.description == wire)
    }
}
