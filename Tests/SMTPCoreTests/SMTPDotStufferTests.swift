import NIOCore
import SMTPCore
import Testing

/// Encodes `chunks` one after another and finishes.
private func stuff(_ chunks: [[UInt8]]) -> [UInt8] {
    var stuffer = SMTPDotStuffer()
    var output = ByteBuffer()
    for chunk in chunks { stuffer.encode(ByteBuffer(bytes: chunk), into: &output) }
    stuffer.finish(into: &output)
    return Array(output.readableBytesView)
}

private func stuff(_ text: String) -> String { String(decoding: stuff([Array(text.utf8)]), as: UTF8.self) }

private func oneByteChunks(_ bytes: [UInt8]) -> [[UInt8]] { bytes.map { [$0] } }

/// What the wire form must be, written the obvious way: split into lines at CRLF, LF or CR,
/// double a leading dot, end every line in CRLF, then the final dot line.
private func reference(_ bytes: [UInt8]) -> [UInt8] {
    var lines: [[UInt8]] = []
    var line: [UInt8] = []
    var index = 0
    var open = false
    while index < bytes.count {
        let byte = bytes[index]
        if byte == 13 || byte == 10 {
            lines.append(line)
            line = []
            open = false
            index += (byte == 13 && index + 1 < bytes.count && bytes[index + 1] == 10) ? 2 : 1
        } else {
            line.append(byte)
            open = true
            index += 1
        }
    }
    if open { lines.append(line) }
    var out: [UInt8] = []
    for line in lines { out += (line.first == UInt8(ascii: ".") ? [UInt8(ascii: ".")] : []) + line + [13, 10] }
    return out + Array(".\r\n".utf8)
}

private func bareLineBreaks(in bytes: [UInt8]) -> Bool {
    for (index, byte) in bytes.enumerated() {
        if byte == 13, index + 1 >= bytes.count || bytes[index + 1] != 10 { return true }
        if byte == 10, index == 0 || bytes[index - 1] != 13 { return true }
    }
    return false
}

@Suite struct SMTPDotStufferTests {
    static let cases: [(String, String)] = [
        ("", ".\r\n"),
        ("a\r\n", "a\r\n.\r\n"),
        ("abc", "abc\r\n.\r\n"),
        (".", "..\r\n.\r\n"),
        (".a\r\n", "..a\r\n.\r\n"),
        ("..\r\n", "...\r\n.\r\n"),
        ("a\r\n.\r\n", "a\r\n..\r\n.\r\n"),
        ("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
        ("a.b\r\n.c.\r\n", "a.b\r\n..c.\r\n.\r\n"),
        (" .a\r\n", " .a\r\n.\r\n"),
        ("a\n.b\n", "a\r\n..b\r\n.\r\n"),
        ("a\r.b", "a\r\n..b\r\n.\r\n"),
        ("a\r", "a\r\n.\r\n"),
        ("\r", "\r\n.\r\n"),
        ("\n", "\r\n.\r\n"),
        ("\r\n", "\r\n.\r\n"),
        ("\n\n", "\r\n\r\n.\r\n"),
        ("\r\r\n", "\r\n\r\n.\r\n"),
        ("\n\r", "\r\n\r\n.\r\n"),
        ("a\r\n\r\nb", "a\r\n\r\nb\r\n.\r\n"),
        ("\n.\n", "\r\n..\r\n.\r\n"),
        ("\r.\r", "\r\n..\r\n.\r\n"),
        ("Subject: x\r\n\r\n.\r\n..\r\n...", "Subject: x\r\n\r\n..\r\n...\r\n....\r\n.\r\n"),
    ]

    @Test(arguments: cases)
    func encodesTheWireForm(input: String, expected: String) {
        #expect(stuff(input) == expected)
        #expect(reference(Array(input.utf8)) == Array(expected.utf8), "the reference agrees")
    }

    @Test(arguments: cases)
    func oneChunkAndOneByteChunksGiveTheSame(input: String, expected: String) {
        let bytes = Array(input.utf8)
        #expect(stuff(oneByteChunks(bytes)) == stuff([bytes]))
        #expect(stuff(oneByteChunks(bytes)) == Array(expected.utf8))
    }

    @Test(arguments: cases)
    func everyTwoChunkSplitGivesTheSame(input: String, expected: String) {
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            #expect(stuff([Array(bytes[..<split]), Array(bytes[split...])]) == Array(expected.utf8), "split at \(split)")
        }
    }

    @Test func aDotAfterAChunkBoundaryAtALineStartIsDoubled() {
        #expect(stuff([Array("a\r\n".utf8), Array(".b\r\n".utf8)]) == Array("a\r\n..b\r\n.\r\n".utf8))
        #expect(stuff([Array("a\n".utf8), Array(".b".utf8)]) == Array("a\r\n..b\r\n.\r\n".utf8))
        #expect(stuff([Array(".".utf8), Array(".".utf8), Array(".".utf8)]) == Array("....\r\n.\r\n".utf8))
    }

    @Test func aCRLFSplitAcrossChunksIsOneLineEnd() {
        #expect(stuff([Array("a\r".utf8), Array("\nb".utf8)]) == Array("a\r\nb\r\n.\r\n".utf8))
        #expect(stuff([Array("a\r".utf8), Array("\n.b".utf8)]) == Array("a\r\n..b\r\n.\r\n".utf8))
        #expect(stuff([Array("a\r".utf8), [], Array("\n".utf8)]) == Array("a\r\n.\r\n".utf8))
    }

    @Test func aBareCRAtAChunkEndFollowedByADotIsALineEnd() {
        #expect(stuff([Array("a\r".utf8), Array(".b".utf8)]) == Array("a\r\n..b\r\n.\r\n".utf8))
    }

    @Test func emptyChunksChangeNothing() {
        #expect(stuff([[], Array("a".utf8), [], [], Array(".b".utf8), []]) == Array("a.b\r\n.\r\n".utf8))
        #expect(stuff([[], []]) == Array(".\r\n".utf8))
        #expect(stuff([]) == Array(".\r\n".utf8))
    }

    @Test func theOutputIsAppendedAfterWhatTheBufferHeld() {
        var stuffer = SMTPDotStuffer()
        var output = ByteBuffer(string: "DATA is next\r\n")
        stuffer.encode(ByteBuffer(string: ".x"), into: &output)
        stuffer.finish(into: &output)
        #expect(String(buffer: output) == "DATA is next\r\n..x\r\n.\r\n")
    }

    @Test func theInputsReaderIndexIsRespected() {
        var input = ByteBuffer(string: "skip.a\r\n")
        input.moveReaderIndex(forwardBy: 4)
        var stuffer = SMTPDotStuffer()
        var output = ByteBuffer()
        stuffer.encode(input, into: &output)
        stuffer.finish(into: &output)
        #expect(String(buffer: output) == "..a\r\n.\r\n")
    }

    @Test func aFinishedStufferStartsAFreshMessage() {
        var stuffer = SMTPDotStuffer()
        var output = ByteBuffer()
        stuffer.encode(ByteBuffer(string: "first\r"), into: &output)
        stuffer.finish(into: &output)
        stuffer.encode(ByteBuffer(string: ".second"), into: &output)
        stuffer.finish(into: &output)
        #expect(String(buffer: output) == "first\r\n.\r\n..second\r\n.\r\n")
    }

    @Test func eightBitAndNULBytesPassThrough() {
        let input: [UInt8] = [0xC3, 0xA9, 0x00, 0xFF, 13, 10, 0x2E, 0x80]
        #expect(stuff([input]) == [0xC3, 0xA9, 0x00, 0xFF, 13, 10, 0x2E, 0x2E, 0x80, 13, 10, 0x2E, 13, 10])
    }

    /// Random text over the characters that matter, fed whole, byte by byte and in random chunks.
    @Test func randomInputsMatchTheReferenceHoweverTheyAreChunked() {
        var generator = SeededGenerator(seed: 0xD07_5717)
        let alphabet: [UInt8] = [UInt8(ascii: "."), UInt8(ascii: "."), 13, 10, UInt8(ascii: "a"), UInt8(ascii: " ")]
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
            let whole = stuff([bytes])
            #expect(whole == reference(bytes), "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            #expect(stuff(oneByteChunks(bytes)) == whole)
            var chunks: [[UInt8]] = []
            var rest = bytes[...]
            while !rest.isEmpty {
                let size = Int.random(in: 0...min(5, rest.count), using: &generator)
                chunks.append(Array(rest.prefix(size)))
                rest = rest.dropFirst(size)
            }
            #expect(stuff(chunks) == whole)
            #expect(!bareLineBreaks(in: whole))
            #expect(whole.suffix(5) == [13, 10, 0x2E, 13, 10] || whole == [0x2E, 13, 10])
        }
    }
}

/// SplitMix64, seeded so the random inputs are the same on every run.
private struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
