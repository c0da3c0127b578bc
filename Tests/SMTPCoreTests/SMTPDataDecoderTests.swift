import NIOCore
import SMTPCore
import Testing

/// What decoding some input gave.
private struct Decoded: Equatable, CustomStringConvertible {
    /// The decoded message text.
    var text: String
    /// The end of data was read.
    var ended: Bool
    /// The input after the end of data, left for the command decoder.
    var rest: String
    var summary: SMTPDataDecoder.Summary

    var description: String {
        "text=\(text.debugDescription) ended=\(ended) rest=\(rest.debugDescription) summary=\(summary)"
    }
}

private enum Feeding {
    case whole
    case byteByByte
}

private func decode(_ input: [UInt8], _ configuration: SMTPDataDecoder.Configuration, feeding: Feeding) -> Decoded {
    var decoder = SMTPDataDecoder(configuration: configuration)
    var output = ByteBuffer()
    var ended = false
    var rest: [UInt8] = []
    switch feeding {
    case .whole:
        var buffer = ByteBuffer(bytes: input)
        ended = decoder.decode(&buffer, into: &output)
        rest = Array(buffer.readableBytesView)
        if !ended { #expect(rest.isEmpty, "input left over before the end of data") }
    case .byteByByte:
        for (index, byte) in input.enumerated() {
            var buffer = ByteBuffer(bytes: [byte])
            if decoder.decode(&buffer, into: &output) {
                ended = true
                rest = Array(buffer.readableBytesView) + input[(index + 1)...]
                break
            }
            #expect(buffer.readableBytes == 0, "input left over before the end of data")
        }
    }
    #expect(decoder.summary.size == output.readableBytes, "summary.size is not the decoded size")
    return Decoded(
        text: String(decoding: output.readableBytesView, as: UTF8.self), ended: ended,
        rest: String(decoding: rest, as: UTF8.self), summary: decoder.summary)
}

/// Decodes `input` fed whole and fed byte by byte, expects both to agree, and returns the result.
private func decode(
    _ input: String, normalizeBareLineFeed: Bool = false, maximumLineLength: Int = 1000, dotStuffed: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation
) -> Decoded {
    let configuration = SMTPDataDecoder.Configuration(
        normalizeBareLineFeed: normalizeBareLineFeed, maximumLineLength: maximumLineLength, dotStuffed: dotStuffed)
    let bytes = Array(input.utf8)
    let whole = decode(bytes, configuration, feeding: .whole)
    let byteByByte = decode(bytes, configuration, feeding: .byteByByte)
    #expect(whole == byteByByte, "fed whole and byte by byte, the results differ", sourceLocation: sourceLocation)
    return whole
}

private func summary(
    size: Int, bareLineFeed: Bool = false, bareCarriageReturn: Bool = false, lineTooLong: Bool = false,
    receivedHeaders: Int = 0
) -> SMTPDataDecoder.Summary {
    var summary = SMTPDataDecoder.Summary()
    summary.size = size
    summary.bareLineFeed = bareLineFeed
    summary.bareCarriageReturn = bareCarriageReturn
    summary.lineTooLong = lineTooLong
    summary.receivedHeaders = receivedHeaders
    return summary
}

private let smuggled = "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSmuggled\r\n"

@Suite struct SMTPDataDecoderTests {
    // MARK: End of data

    @Test func crlfDotCRLFEndsTheDataAndTheNextCommandStaysInTheInput() {
        let decoded = decode("Subject: hi\r\n\r\nbody\r\n.\r\nMAIL FROM:<next@sender.example>\r\n")
        #expect(
            decoded
                == Decoded(
                    text: "Subject: hi\r\n\r\nbody\r\n", ended: true, rest: "MAIL FROM:<next@sender.example>\r\n",
                    summary: summary(size: 21)))
    }

    /// A NUL anywhere in the text is flagged (and kept, as sent: the session refuses the
    /// message), in DATA and in BDAT, at a line's start or inside it.
    @Test(arguments: ["a\u{0}b\r\n", "\u{0}\r\n", "Subject: x\r\n\r\nbody\u{0}\r\n.\u{0}\r\n"])
    func aNULIsFlagged(text: String) {
        let decoded = decode(text + ".\r\n")
        #expect(decoded.ended && decoded.summary.nul)
        #expect(decode(text, dotStuffed: false).summary.nul)
        #expect(!decode("clean\r\n.\r\n").summary.nul)
    }

    @Test func anEmptyMessageIsJustTheTerminator() {
        #expect(decode(".\r\nQUIT\r\n") == Decoded(text: "", ended: true, rest: "QUIT\r\n", summary: summary(size: 0)))
    }

    @Test func withoutTheTerminatorTheDataGoesOn() {
        let decoded = decode("a\r\n.x\r\n..\r\n.\r")
        #expect(!decoded.ended)
        #expect(decoded.text == "a\r\nx\r\n.\r\n")
    }

    @Test(arguments: [
        ("..x\r\n.\r\n", ".x\r\n"),
        ("...\r\n.\r\n", "..\r\n"),
        ("..\r\n.\r\n", ".\r\n"),
        (".x\r\n.\r\n", "x\r\n"),  // RFC 5321 §4.5.2: the first dot goes, even when not needed
        ("a.\r\nb..c\r\n.\r\n", "a.\r\nb..c\r\n"),  // only at the start of a line
        ("a\r\n..\r\n.\r\n", "a\r\n.\r\n"),
    ])
    func dotUnstuffing(input: String, text: String) {
        let decoded = decode(input)
        #expect(decoded.ended)
        #expect(decoded.text == text)
        #expect(decoded.summary == summary(size: text.utf8.count))
    }

    // MARK: Smuggling (SPEC: under "reject" nothing but CRLF.CRLF ends data)

    @Test(arguments: [
        ("\n.\n", true, false),
        ("\n.\r\n", true, false),
        ("\r\n.\n", true, false),
        ("\r.\r", false, true),
        ("\r.\r\n", false, true),
        ("\r\n.\r", false, true),
        ("\n.\r", true, true),
        ("\r\n.\r\r\n", false, true),
    ])
    func noFalseEndOfDataUnderReject(terminator: String, bareLineFeed: Bool, bareCarriageReturn: Bool) {
        let decoded = decode("Subject: x\r\n\r\nfirst" + terminator + smuggled + "\r\n.\r\nQUIT\r\n")
        #expect(decoded.ended)
        #expect(decoded.rest == "QUIT\r\n", "the data ended before the real terminator")
        #expect(
            decoded.text.contains(
                "MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSmuggled\r\n"))
        #expect(decoded.text.hasSuffix("Smuggled\r\n\r\n"))
        #expect(decoded.summary.bareLineFeed == bareLineFeed)
        #expect(decoded.summary.bareCarriageReturn == bareCarriageReturn)
    }

    @Test func underRejectABareLineFeedIsKeptAsSentAndFlagged() {
        let decoded = decode("a\nb\r\n.\r\n")
        #expect(
            decoded == Decoded(text: "a\nb\r\n", ended: true, rest: "", summary: summary(size: 5, bareLineFeed: true)))
    }

    /// SPEC (as Postfix 3.9's normalize): a bare LF ends a line as CRLF would, but only
    /// CRLF.CRLF ends the data. LF.LF, CRLF.LF and LF.CRLF leave a line holding a dot, which is
    /// content; so nothing after them can be smuggled in as a second message, however the input
    /// is split (the helper feeds it whole and byte by byte).
    @Test(arguments: ["first\n.\n", "first\r\n.\n", "first\n.\r\n"])
    func underNormalizeOnlyCRLFDotCRLFEndsTheData(input: String) {
        let decoded = decode(input + smuggled, normalizeBareLineFeed: true)
        #expect(!decoded.ended)
        #expect(decoded.text == "first\r\n.\r\n" + smuggled)
        let closed = decode(input + smuggled + ".\r\nQUIT\r\n", normalizeBareLineFeed: true)
        #expect(closed.ended && closed.rest == "QUIT\r\n")
        #expect(closed.text == "first\r\n.\r\n" + smuggled)
    }

    @Test func underNormalizeCRLFDotCRLFEndsTheData() {
        let decoded = decode("first\r\n.\r\n" + smuggled, normalizeBareLineFeed: true)
        #expect(decoded == Decoded(text: "first\r\n", ended: true, rest: smuggled, summary: summary(size: 7)))
    }

    @Test func underNormalizeTheTextHasOnlyCRLFLineEndings() {
        let decoded = decode("Subject: x\n\nline 1\nline 2\r\n\n..dot\r\n.\r\n", normalizeBareLineFeed: true)
        #expect(decoded.ended)
        #expect(decoded.text == "Subject: x\r\n\r\nline 1\r\nline 2\r\n\r\n.dot\r\n")
        #expect(!decoded.summary.bareLineFeed)
        let withoutCRLF = decoded.text.utf8.split(separator: 13, omittingEmptySubsequences: false).dropFirst()
        #expect(withoutCRLF.allSatisfy { $0.first == 10 }, "every CR is followed by LF")
        #expect(decoded.text.utf8.filter { $0 == 10 }.count == decoded.text.utf8.filter { $0 == 13 }.count)
    }

    @Test(arguments: ["\r.\r", "\r\n.\r", "\r.\n", "a\rb"])
    func underNormalizeABareCarriageReturnIsStillFlaggedAndEndsNothing(fragment: String) {
        let decoded = decode("first" + fragment + "more\r\n.\r\nQUIT\r\n", normalizeBareLineFeed: true)
        #expect(decoded.ended)
        #expect(decoded.rest == "QUIT\r\n")
        #expect(decoded.summary.bareCarriageReturn)
    }

    // MARK: Received: headers (RFC 5321 §6.3)

    @Test func receivedHeadersAreCountedInTheHeaderSectionOnly() {
        let message = """
            Received: from a\r
            received: from b\r
            RECEIVED: from c\r
            \tby folded.example\r
             Received: folded, not a field\r
            X-Received: no\r
            Subject: Received: no\r
            ReceivedX: no\r
            Received : obsolete spacing is not counted\r
            \r
            Received: in the body\r
            .\r

            """
        let decoded = decode(message)
        #expect(decoded.ended)
        #expect(decoded.summary.receivedHeaders == 3)
    }

    @Test func aDotStuffedReceivedHeaderIsCountedAsDecoded() {
        #expect(decode(".Received: a\r\n..Received: b\r\n\r\n.\r\n").summary.receivedHeaders == 1)
    }

    @Test func receivedHeadersUnderNormalize() {
        let decoded = decode("Received: a\nReceived: b\n\nReceived: c\r\n.\r\n", normalizeBareLineFeed: true)
        #expect(decoded.ended)
        #expect(decoded.summary.receivedHeaders == 2)
    }

    @Test func aMessageWithoutHeadersCountsNone() {
        #expect(decode("\r\nReceived: body\r\n.\r\n").summary.receivedHeaders == 0)
    }

    // MARK: Line length (RFC 5321 §4.5.3.1.6: 1000 octets including CRLF)

    @Test(arguments: [(998, false), (999, true), (2000, true)])
    func lineLengthIncludesCRLF(octets: Int, tooLong: Bool) {
        let line = String(repeating: "x", count: octets)
        let decoded = decode("Subject: x\r\n\r\n" + line + "\r\nshort\r\n.\r\n")
        #expect(decoded.ended)
        #expect(decoded.summary.lineTooLong == tooLong, "\(octets + 2) octets with CRLF")
    }

    @Test(arguments: [(998, false), (999, true)])
    func headerLinesCountToo(octets: Int, tooLong: Bool) {
        let header = "X-Long: " + String(repeating: "h", count: octets - 8)
        #expect(decode(header + "\r\n\r\nbody\r\n.\r\n").summary.lineTooLong == tooLong)
    }

    /// The dot added for transparency is not part of the line (RFC 5321 §4.5.3.1.6).
    @Test(arguments: [(998, false), (999, true)])
    func theStuffedDotDoesNotCount(octets: Int, tooLong: Bool) {
        let line = "." + String(repeating: "x", count: octets - 1)  // as decoded
        let decoded = decode("." + line + "\r\n.\r\n")
        #expect(decoded.text == line + "\r\n")
        #expect(decoded.summary.lineTooLong == tooLong, "\(octets + 2) octets with CRLF, once unstuffed")
    }

    /// Under normalize the line goes on with CRLF, so a bare LF line is one octet longer than sent.
    @Test(arguments: [(998, false), (999, true)])
    func underNormalizeTheLineIsMeasuredWithItsCRLF(octets: Int, tooLong: Bool) {
        let line = String(repeating: "x", count: octets)
        let decoded = decode(line + "\nend\r\n.\r\n", normalizeBareLineFeed: true)
        #expect(decoded.text == line + "\r\nend\r\n")
        #expect(decoded.summary.lineTooLong == tooLong, "\(octets + 2) octets with CRLF")
    }

    @Test(arguments: [(8, false), (9, true)])
    func theLimitIsConfigurable(octets: Int, tooLong: Bool) {
        let line = String(repeating: "x", count: octets)
        #expect(decode(line + "\r\n.\r\n", maximumLineLength: 10).summary.lineTooLong == tooLong)
    }

    @Test func theTerminatorLineIsNotMeasured() {
        #expect(!decode(".\r\n", maximumLineLength: 2).summary.lineTooLong)
    }

    // MARK: BDAT (RFC 3030: no dot-stuffing, no terminator)

    @Test func inBDATModeDotsAreKeptAndNothingEndsTheData() {
        let input = "Subject: x\r\n\r\n..stuffed?\r\n.\r\n.\n.\r\nafter\r\n"
        let decoded = decode(input, dotStuffed: false)
        #expect(!decoded.ended)
        #expect(decoded.text == input)
        #expect(decoded.rest == "")
        #expect(decoded.summary.bareLineFeed)
    }

    @Test func inBDATModeReceivedHeadersAndLineLengthAreChecked() {
        let decoded = decode(
            "Received: a\r\n.Received: b\r\n\r\n" + String(repeating: "x", count: 999) + "\r\n", dotStuffed: false)
        #expect(decoded.summary == summary(size: 13 + 14 + 2 + 1001, lineTooLong: true, receivedHeaders: 1))
    }

    @Test func finishMeasuresTheLastLineOfTheLastChunk() {
        let configuration = SMTPDataDecoder.Configuration(
            normalizeBareLineFeed: false, maximumLineLength: 10, dotStuffed: false)
        var decoder = SMTPDataDecoder(configuration: configuration)
        var output = ByteBuffer()
        var input = ByteBuffer(string: "short\r\n" + String(repeating: "x", count: 11))
        #expect(!decoder.decode(&input, into: &output))
        #expect(!decoder.summary.lineTooLong)
        decoder.finish()
        #expect(decoder.summary.lineTooLong)
    }

    @Test func stateCarriesOverBetweenBDATChunks() {
        let configuration = SMTPDataDecoder.Configuration(
            normalizeBareLineFeed: false, maximumLineLength: 1000, dotStuffed: false)
        var decoder = SMTPDataDecoder(configuration: configuration)
        var output = ByteBuffer()
        for chunk in ["Recei", "ved: a\r", "\nbody\r\n"] {
            var input = ByteBuffer(string: chunk)
            #expect(!decoder.decode(&input, into: &output))
        }
        #expect(decoder.summary == summary(size: 19, receivedHeaders: 1))
        #expect(String(buffer: output) == "Received: a\r\nbody\r\n")
    }
}
