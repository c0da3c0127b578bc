import NIOCore

/// One framed command line, or the reason there is none.
public enum SMTPCommandLine: Sendable, Hashable {
    /// The line without its line ending.
    case line([UInt8])
    /// Longer than `SMTPLimits.maximumCommandLineLength`; the rest of it is discarded.
    case tooLong
    /// Ended by a bare LF while bare LFs are refused.
    case bareLineFeed
    /// Held a CR not followed by LF.
    case bareCarriageReturn
}

/// Frames command lines (RFC 5321 §2.3.8: lines end in CRLF). A bare LF is a line ending only
/// when `normalizeBareLineFeed` is set; otherwise it is reported so the session can refuse it.
/// Never buffers more than one command line.
public struct SMTPCommandLineDecoder: Sendable {
    public var normalizeBareLineFeed: Bool
    /// Set after an overlong line was reported, until its end has been read and dropped.
    private var discarding = false

    public init(normalizeBareLineFeed: Bool) {
        self.normalizeBareLineFeed = normalizeBareLineFeed
    }

    /// - Returns: the next line, or `nil` when `input` holds no complete line yet.
    public mutating func next(_ input: inout ByteBuffer) -> SMTPCommandLine? {
        let limit = SMTPLimits.maximumCommandLineLength
        while true {
            let view = input.readableBytesView
            guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if discarding {
                    input.moveReaderIndex(forwardBy: input.readableBytes)
                    return nil
                }
                if input.readableBytes > limit {
                    input.moveReaderIndex(forwardBy: input.readableBytes)
                    discarding = true
                    return .tooLong
                }
                return nil
            }
            let lineLength = lf - view.startIndex + 1
            if discarding {
                input.moveReaderIndex(forwardBy: lineLength)
                discarding = false
                continue
            }
            // Invariant: lineLength readable bytes exist, since lf lies inside the view.
            let raw = input.readBytes(length: lineLength)!
            if lineLength > limit { return .tooLong }
            let hasCR = lineLength >= 2 && raw[lineLength - 2] == UInt8(ascii: "\r")
            let body = raw[..<(lineLength - (hasCR ? 2 : 1))]
            if body.contains(UInt8(ascii: "\r")) { return .bareCarriageReturn }
            if !hasCR && !normalizeBareLineFeed { return .bareLineFeed }
            return .line(Array(body))
        }
    }
}
