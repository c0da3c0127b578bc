import NIOCore
import SMTPCore

/// `SMTPDataDecoder`: the first octet picks the configuration; the text is decoded whole and in
/// pieces, and both must give the same text, the same end and the same summary.
enum DataDecoderFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let flags = bytes.first else { return }
        let configuration = SMTPDataDecoder.Configuration(
            normalizeBareLineFeed: flags & 1 != 0, maximumLineLength: flags & 2 != 0 ? 1000 : 20, dotStuffed: flags & 4 != 0)
        let text = bytes.dropFirst()
        let whole = decode([text], configuration)
        let split = decode(pieces(of: text, seed: flags), configuration)
        invariant(whole.output == split.output, "split input decoded to other text")
        invariant(whole.ended == split.ended, "split input ended differently")
        invariant(whole.summary == split.summary, "split input gave another summary: \(whole.summary) \(split.summary)")
        invariant(whole.rest == split.rest, "split input left other octets after the end")
        invariant(whole.summary.size == whole.output.count, "summary size \(whole.summary.size) for \(whole.output.count) octets")
        invariant(configuration.dotStuffed || !whole.ended, "BDAT text ended on its own")
    }

    struct Result {
        var output: [UInt8] = []
        var ended = false
        var summary = SMTPDataDecoder.Summary()
        var rest: [UInt8] = []
    }

    static func decode(_ chunks: [ArraySlice<UInt8>], _ configuration: SMTPDataDecoder.Configuration) -> Result {
        var decoder = SMTPDataDecoder(configuration: configuration)
        var result = Result()
        var input = ByteBuffer()
        for chunk in chunks {
            input.writeBytes(chunk)
            if result.ended { continue }
            var output = ByteBuffer()
            result.ended = decoder.decode(&input, into: &output)
            result.output += output.readableBytesView
        }
        if !result.ended { decoder.finish() }
        result.summary = decoder.summary
        result.rest = Array(input.readableBytesView)
        return result
    }
}
