import NIOCore
import SMTPCore

/// `SMTPReplyDecoder` on what an upstream may send: whole and in pieces, the same replies and
/// the same error; every reply's EHLO reading must not trap.
enum ReplyDecoderFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let seed = bytes.first else { return }
        let text = bytes.dropFirst()
        let whole = decode([text])
        let split = decode(pieces(of: text, seed: seed))
        invariant(whole == split, "split input decoded to other replies")
    }

    enum Outcome: Equatable {
        case reply(SMTPReply)
        case error(SMTPReplyDecoder.DecodeError)
    }

    static func decode(_ chunks: [ArraySlice<UInt8>]) -> [Outcome] {
        var decoder = SMTPReplyDecoder()
        var input = ByteBuffer()
        var outcomes: [Outcome] = []
        for chunk in chunks {
            input.writeBytes(chunk)
            do {
                while let reply = try decoder.next(&input) {
                    invariant((200...599).contains(reply.code), "reply code \(reply.code)")
                    _ = SMTPServerCapabilities(ehloReply: reply)
                    outcomes.append(.reply(reply))
                }
            } catch {
                outcomes.append(.error(error))
                return outcomes
            }
        }
        return outcomes
    }
}
