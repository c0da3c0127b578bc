import NIOCore
import SMTPCore
import Testing

/// Feeds `pieces` one after the other into one input buffer, as a driver would, and collects every
/// line the decoder frames. - Returns: the lines and the bytes still waiting in the buffer.
private func frame(_ pieces: [[UInt8]], normalizeBareLineFeed: Bool) -> (lines: [SMTPCommandLine], left: [UInt8]) {
    var decoder = SMTPCommandLineDecoder(normalizeBareLineFeed: normalizeBareLineFeed)
    var input = ByteBuffer()
    var lines: [SMTPCommandLine] = []
    for piece in pieces {
        input.writeBytes(piece)
        while let line = decoder.next(&input) { lines.append(line) }
    }
    return (lines, Array(input.readableBytesView))
}

/// Frames `input` fed whole and fed byte by byte, expects both to agree, and returns the lines.
private func frame(
    _ input: [UInt8], normalizeBareLineFeed: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) -> [SMTPCommandLine] {
    let whole = frame([input], normalizeBareLineFeed: normalizeBareLineFeed)
    let byteByByte = frame(input.map { [$0] }, normalizeBareLineFeed: normalizeBareLineFeed)
    #expect(whole.lines == byteByByte.lines, "whole and byte by byte differ", sourceLocation: sourceLocation)
    #expect(
        whole.left == byteByByte.left, "whole and byte by byte leave different input", sourceLocation: sourceLocation)
    return whole.lines
}

private func frame(
    _ input: String, normalizeBareLineFeed: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) -> [SMTPCommandLine] {
    frame(Array(input.utf8), normalizeBareLineFeed: normalizeBareLineFeed, sourceLocation: sourceLocation)
}

private func line(_ text: String) -> SMTPCommandLine { .line(Array(text.utf8)) }

@Suite struct SMTPCommandLineDecoderTests {
    @Test(arguments: [false, true])
    func crlfEndsEachLine(normalize: Bool) {
        #expect(
            frame(
                "EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n",
                normalizeBareLineFeed: normalize)
                == [line("EHLO client.example"), line("MAIL FROM:<a@b.example>"), line("RCPT TO:<c@d.example>")])
    }

    @Test func anEmptyLineIsALine() {
        #expect(frame("\r\nNOOP\r\n") == [line(""), line("NOOP")])
    }

    @Test func anIncompleteLineWaitsInTheBuffer() {
        let framed = frame([Array("NOOP\r\nRSE".utf8)], normalizeBareLineFeed: false)
        #expect(framed.lines == [line("NOOP")])
        #expect(framed.left == Array("RSE".utf8))
        #expect(frame([Array("NOOP\r".utf8)], normalizeBareLineFeed: false) == ([], Array("NOOP\r".utf8)))
    }

    @Test func crAndLFMayArriveInSeparateReads() {
        #expect(frame([Array("NOOP\r".utf8), Array("\n".utf8)], normalizeBareLineFeed: false).lines == [line("NOOP")])
    }

    @Test func aBareLineFeedIsReportedUnderReject() {
        #expect(frame("NOOP\nQUIT\r\n") == [.bareLineFeed, line("QUIT")])
        #expect(frame("\n") == [.bareLineFeed])
    }

    @Test func aBareLineFeedEndsTheLineUnderNormalize() {
        #expect(frame("NOOP\nQUIT\r\n", normalizeBareLineFeed: true) == [line("NOOP"), line("QUIT")])
        #expect(frame("\n", normalizeBareLineFeed: true) == [line("")])
    }

    @Test(arguments: [false, true])
    func aBareCarriageReturnIsAlwaysReported(normalize: Bool) {
        #expect(frame("NO\rOP\r\nQUIT\r\n", normalizeBareLineFeed: normalize) == [.bareCarriageReturn, line("QUIT")])
        #expect(frame("NOOP\r\r\n", normalizeBareLineFeed: normalize) == [.bareCarriageReturn])
        #expect(frame("\rNOOP\r\n", normalizeBareLineFeed: normalize) == [.bareCarriageReturn])
    }

    @Test func aBareCarriageReturnBeforeABareLineFeedIsABareCarriageReturn() {
        #expect(frame("NOOP\r\r\n") == [.bareCarriageReturn])
        #expect(frame("NO\rOP\n", normalizeBareLineFeed: true) == [.bareCarriageReturn])
    }

    /// RFC 5321 §4.5.3.1.4: 512 octets including CRLF.
    @Test func aLineOf512OctetsIsAcceptedAnd513IsTooLong() {
        let longest = "NOOP " + String(repeating: "x", count: 505)
        #expect(longest.utf8.count + 2 == 512)
        #expect(frame(longest + "\r\n") == [line(longest)])
        #expect(frame(longest + "x\r\nNOOP\r\n") == [.tooLong, line("NOOP")])
    }

    @Test func aBareLineFeedLineOf512OctetsIsAcceptedUnderNormalize() {
        let longest = "NOOP " + String(repeating: "x", count: 506)
        #expect(frame(longest + "\n", normalizeBareLineFeed: true) == [line(longest)])
        #expect(frame(longest + "x\n", normalizeBareLineFeed: true) == [.tooLong])
    }

    @Test(arguments: [false, true])
    func anOverlongLineGivesOneTooLongThenTheNextLineParses(normalize: Bool) {
        let overlong = "MAIL FROM:<" + String(repeating: "a", count: 2000) + "@b.example>"
        #expect(
            frame(overlong + "\r\nNOOP\r\nQUIT\r\n", normalizeBareLineFeed: normalize) == [
                .tooLong, line("NOOP"), line("QUIT"),
            ])
    }

    @Test(arguments: [1, 7, 100, 511, 512, 513, 600, 1500])
    func anOverlongLineInPiecesGivesOneTooLong(pieceSize: Int) {
        let input = Array((String(repeating: "z", count: 1400) + "\r\nNOOP\r\n").utf8)
        let pieces = stride(from: 0, to: input.count, by: pieceSize).map {
            Array(input[$0..<min($0 + pieceSize, input.count)])
        }
        let framed = frame(pieces, normalizeBareLineFeed: false)
        #expect(framed.lines == [.tooLong, line("NOOP")])
        #expect(framed.left.isEmpty)
    }

    @Test func anOverlongLineIsNotBufferedWhileItsEndIsAwaited() {
        var decoder = SMTPCommandLineDecoder(normalizeBareLineFeed: false)
        var input = ByteBuffer(bytes: Array(repeating: UInt8(ascii: "y"), count: 600))
        #expect(decoder.next(&input) == .tooLong)
        #expect(input.readableBytes == 0)
        input.writeBytes(Array(repeating: UInt8(ascii: "y"), count: 600))
        #expect(decoder.next(&input) == nil)
        #expect(input.readableBytes == 0)
        input.writeString("yyy\r\nNOOP\r\n")
        #expect(decoder.next(&input) == line("NOOP"))
        #expect(decoder.next(&input) == nil)
    }

    @Test func anOverlongLineEndingInABareLineFeedIsStillOneTooLong() {
        #expect(frame(String(repeating: "q", count: 700) + "\nNOOP\r\n") == [.tooLong, line("NOOP")])
    }

    @Test func nonASCIIAndNULBytesAreFramedForTheParserToJudge() {
        #expect(frame([0x4E, 0x00, 0xFF, 0x0D, 0x0A]) == [.line([0x4E, 0x00, 0xFF])])
    }
}
