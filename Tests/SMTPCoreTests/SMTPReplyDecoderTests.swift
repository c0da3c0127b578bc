import NIOCore
import SMTPCore
import Testing

private enum Feeding: CaseIterable, Sendable {
    case whole
    case byteByByte
}

/// What decoding some input gave: the replies, then an error if there was one, and what was left unread.
private struct Decoded: Equatable {
    var replies: [SMTPReply] = []
    var error: SMTPReplyDecoder.DecodeError?
    var left: Int = 0
}

private func decode(_ input: [UInt8], feeding: Feeding) -> Decoded {
    var decoder = SMTPReplyDecoder()
    var result = Decoded()
    var buffer = ByteBuffer()
    let chunks: [[UInt8]] = feeding == .whole ? [input] : input.map { [$0] }
    do throws(SMTPReplyDecoder.DecodeError) {
        for chunk in chunks {
            buffer.writeBytes(chunk)
            while let reply = try decoder.next(&buffer) { result.replies.append(reply) }
        }
    } catch {
        result.error = error
    }
    result.left = buffer.readableBytes
    return result
}

/// Decodes both ways, checks they agree, and gives the result.
private func decodeBothWays(_ input: String, sourceLocation: SourceLocation = #_sourceLocation) -> Decoded {
    let whole = decode(Array(input.utf8), feeding: .whole)
    let dripped = decode(Array(input.utf8), feeding: .byteByByte)
    #expect(whole.replies == dripped.replies, "fed whole and byte by byte", sourceLocation: sourceLocation)
    #expect(whole.error == dripped.error, "fed whole and byte by byte", sourceLocation: sourceLocation)
    return whole
}

@Suite struct SMTPReplyDecoderTests {
    // MARK: Replies

    @Test(arguments: [
        ("250 2.1.0 Ok\r\n", SMTPReply(code: 250, EnhancedStatusCode(2, 1, 0), "Ok")),
        ("250 Ok\r\n", SMTPReply(code: 250, nil, "Ok")),
        ("220 mx.example.com ESMTP Postfix\r\n", SMTPReply(code: 220, nil, "mx.example.com ESMTP Postfix")),
        ("354 End data with <CR><LF>.<CR><LF>\r\n", SMTPReply(code: 354, nil, "End data with <CR><LF>.<CR><LF>")),
        ("354\r\n", SMTPReply(code: 354, nil, "")),
        ("250 \r\n", SMTPReply(code: 250, nil, "")),
        ("250 2.0.0\r\n", SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "")),
        ("550 5.1.1 <x@example.com>: Recipient address rejected\r\n", SMTPReply(code: 550, EnhancedStatusCode(5, 1, 1), "<x@example.com>: Recipient address rejected")),
        ("554 5.7.1  two spaces\r\n", SMTPReply(code: 554, EnhancedStatusCode(5, 7, 1), "two spaces")),
        ("421 4.4.2 Timeout\r\n", SMTPReply(code: 421, EnhancedStatusCode(4, 4, 2), "Timeout")),
        ("250 2.1.10 x\r\n", SMTPReply(code: 250, EnhancedStatusCode(2, 1, 10), "x")),
        ("599 5.999.999 max\r\n", SMTPReply(code: 599, EnhancedStatusCode(5, 999, 999), "max")),
        ("200 ok\r\n", SMTPReply(code: 200, nil, "ok")),
    ])
    func aOneLineReply(wire: String, expected: SMTPReply) {
        let decoded = decodeBothWays(wire)
        #expect(decoded.error == nil)
        #expect(decoded.replies == [expected])
        #expect(decoded.left == 0)
    }

    @Test func textAfterTheCodeKeepsItsUTF8() {
        let decoded = decodeBothWays("550 5.1.1 <José@exämple.com> unknown \u{301}\r\n")
        #expect(decoded.replies == [SMTPReply(code: 550, EnhancedStatusCode(5, 1, 1), "<José@exämple.com> unknown \u{301}")])
    }

    @Test func aMultiLineEHLOReply() {
        let decoded = decodeBothWays(
            "250-mx.example.com Hello client.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250 8BITMIME\r\n")
        #expect(decoded.error == nil)
        #expect(decoded.replies == [
            SMTPReply(code: 250, nil, ["mx.example.com Hello client.example.org", "PIPELINING", "SIZE 10240000", "8BITMIME"])
        ])
    }

    @Test func aMultiLineReplyWithEnhancedCodesOnEveryLine() {
        let decoded = decodeBothWays("550-5.7.1 Message rejected\r\n550-5.7.1 see the policy\r\n550 5.7.1 at example.com\r\n")
        #expect(decoded.replies == [
            SMTPReply(code: 550, EnhancedStatusCode(5, 7, 1), ["Message rejected", "see the policy", "at example.com"])
        ])
    }

    @Test func aContinuationLineWithoutTheEnhancedCodeIsKept() {
        let decoded = decodeBothWays("451-4.7.1 Greylisted\r\n451 please retry\r\n")
        #expect(decoded.replies == [SMTPReply(code: 451, EnhancedStatusCode(4, 7, 1), ["Greylisted", "please retry"])])
    }

    @Test func aMultiLineReplyWithEmptyLines() {
        let decoded = decodeBothWays("220-\r\n220-mx.example.com\r\n220\r\n")
        #expect(decoded.replies == [SMTPReply(code: 220, nil, ["", "mx.example.com", ""])])
    }

    @Test(arguments: [
        ("250 5.1.1 odd\r\n", 250, "5.1.1 odd"),
        ("451 2.0.0 odd\r\n", 451, "2.0.0 odd"),
        ("550 4.2.2 odd\r\n", 550, "4.2.2 odd"),
        ("250 2.0 not a code\r\n", 250, "2.0 not a code"),
        ("250 2.0.0.0 too many parts\r\n", 250, "2.0.0.0 too many parts"),
        ("250 2.x.0 letters\r\n", 250, "2.x.0 letters"),
        ("250 2..0 empty\r\n", 250, "2..0 empty"),
        ("250 v2.0.0\r\n", 250, "v2.0.0"),
        ("250 2.0.1000 detail of four digits\r\n", 250, "2.0.1000 detail of four digits"),
        ("250 2.0.0: no space after\r\n", 250, "2.0.0: no space after"),
    ])
    func anEnhancedCodeIsNotSplitOffUnlessItMatchesTheReplyClass(wire: String, code: Int, text: String) {
        let decoded = decodeBothWays(wire)
        #expect(decoded.replies == [SMTPReply(code: code, nil, text)])
    }

    @Test func severalRepliesInOneBuffer() {
        let decoded = decodeBothWays("250 2.1.0 Ok\r\n250-2.1.5 Ok\r\n250 2.1.5 really\r\n354 go ahead\r\n")
        #expect(decoded.replies == [
            SMTPReply(code: 250, EnhancedStatusCode(2, 1, 0), "Ok"),
            SMTPReply(code: 250, EnhancedStatusCode(2, 1, 5), ["Ok", "really"]),
            SMTPReply(code: 354, nil, "go ahead"),
        ])
        #expect(decoded.left == 0)
    }

    @Test func aReplyWithADifferentCodeMayFollowAMultiLineReply() {
        let decoded = decodeBothWays("250-a\r\n250 b\r\n550 c\r\n")
        #expect(decoded.error == nil)
        #expect(decoded.replies.map(\.code) == [250, 550])
    }

    @Test func anUnfinishedReplyWaitsForMore() {
        let decoded = decodeBothWays("250 Ok\r\n250-first\r\n250 sec")
        #expect(decoded.error == nil)
        #expect(decoded.replies == [SMTPReply(code: 250, nil, "Ok")])
        #expect(decoded.left == "250 sec".utf8.count)
    }

    @Test func aLineEndingInBareLFIsTolerated() {
        let bare = decodeBothWays("250-mx.example.com\n250-PIPELINING\r\n250 2.0.0 Ok\n")
        let crlf = decodeBothWays("250-mx.example.com\r\n250-PIPELINING\r\n250 2.0.0 Ok\r\n")
        #expect(bare.error == nil)
        #expect(bare.replies == crlf.replies)
        #expect(bare.replies.first?.lines == ["mx.example.com", "PIPELINING", "2.0.0 Ok"])
    }

    @Test func aSingleReplySplitAtEveryPointDecodesTheSame() throws {
        let wire = Array("250-mx.example.com\r\n250-2.0.0 second\r\n250 third\r\n".utf8)
        let expected = decode(wire, feeding: .whole)
        for split in 0...wire.count {
            var decoder = SMTPReplyDecoder()
            var buffer = ByteBuffer()
            var replies: [SMTPReply] = []
            for part in [wire[..<split], wire[split...]] {
                buffer.writeBytes(part)
                while let reply = try decoder.next(&buffer) { replies.append(reply) }
            }
            #expect(replies == expected.replies, "split at \(split)")
        }
    }

    // MARK: Errors

    @Test func aLineWithADifferentCodeMidReplyIsMalformed() {
        let decoded = decodeBothWays("250-first\r\n251 second\r\n")
        #expect(decoded.error == .malformed("251 second"))
        #expect(decoded.replies.isEmpty)
    }

    @Test(arguments: [
        ("2x0 Ok\r\n", "2x0 Ok"),
        ("abc\r\n", "abc"),
        (" 250 Ok\r\n", " 250 Ok"),
        ("25\r\n", "25"),
        ("\r\n", ""),
        ("-250 Ok\r\n", "-250 Ok"),
        ("+50 Ok\r\n", "+50 Ok"),
        ("２５０ Ok\r\n", "２５０ Ok"),
    ])
    func aNonDigitCodeIsMalformed(wire: String, line: String) {
        #expect(decodeBothWays(wire).error == .malformed(line))
    }

    @Test(arguments: ["999 odd", "000 odd", "199 odd", "600 odd", "100 Continue"])
    func aCodeOutsideTwoToFiveHundredsIsMalformed(line: String) {
        #expect(decodeBothWays(line + "\r\n").error == .malformed(line))
    }

    @Test(arguments: ["2500 Ok", "250_Ok", "250:Ok", "250\tOk"])
    func aBadSeparatorIsMalformed(line: String) {
        #expect(decodeBothWays(line + "\r\n").error == .malformed(line))
    }

    @Test func aLineOverTheLimitWithoutLFIsTooLong() {
        let line = "250 " + String(repeating: "x", count: SMTPReplyDecoder.maximumLineLength)
        #expect(decodeBothWays(line).error == .lineTooLong)
    }

    @Test func aLineAtTheLimitWithoutLFWaits() {
        let line = "250 " + String(repeating: "x", count: SMTPReplyDecoder.maximumLineLength - 4)
        let decoded = decodeBothWays(line)
        #expect(decoded.error == nil)
        #expect(decoded.replies.isEmpty)
    }

    @Test func aLineOfExactlyTheLimitIsAccepted() {
        let text = String(repeating: "x", count: SMTPReplyDecoder.maximumLineLength - 6)
        #expect(("250 " + text + "\r\n").utf8.count == SMTPReplyDecoder.maximumLineLength)
        let decoded = decodeBothWays("250 " + text + "\r\n")
        #expect(decoded.error == nil)
        #expect(decoded.replies == [SMTPReply(code: 250, nil, text)])
    }

    @Test func aLineOneOverTheLimitIsTooLong() {
        let text = String(repeating: "x", count: SMTPReplyDecoder.maximumLineLength - 5)
        #expect(decodeBothWays("250 " + text + "\r\n").error == .lineTooLong)
    }

    @Test func aLongLineAfterACompleteReplyIsTooLong() {
        let decoded = decodeBothWays("250 Ok\r\n250-" + String(repeating: "y", count: 5000))
        #expect(decoded.replies == [SMTPReply(code: 250, nil, "Ok")])
        #expect(decoded.error == .lineTooLong)
    }

    @Test func twoHundredLinesAreAccepted() {
        let count = SMTPReplyDecoder.maximumLines
        let wire = (1..<count).map { "250-line \($0)\r\n" }.joined() + "250 last\r\n"
        let decoded = decodeBothWays(wire)
        #expect(decoded.error == nil)
        #expect(decoded.replies.first?.lines.count == count)
    }

    @Test func moreThanTwoHundredLinesAreTooMany() {
        let wire = (0..<(SMTPReplyDecoder.maximumLines + 1)).map { "250-line \($0)\r\n" }.joined() + "250 last\r\n"
        let decoded = decodeBothWays(wire)
        #expect(decoded.error == .tooManyLines)
        #expect(decoded.replies.isEmpty)
    }

    @Test func anEndlessContinuationIsStoppedWithoutAFinalLine() {
        let wire = (0..<1000).map { _ in "250-more\r\n" }.joined()
        #expect(decodeBothWays(wire).error == .tooManyLines)
    }
}
