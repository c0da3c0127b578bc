import NIOCore
import SMTPCore

/// Turns a server's bytes into `SMTPReply` values. A malformed, endless or oversized reply
/// closes the channel with an error.
final class SMTPReplyHandler: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    private var decoder = SMTPReplyDecoder()

    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try decoder.next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

@available(*, unavailable)
extension SMTPReplyHandler: Sendable {}
