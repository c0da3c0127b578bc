import NIOCore

/// Decodes the text of a message as it arrives after DATA (dot-stuffed, RFC 5321 §4.5.2) or in
/// BDAT chunks (RFC 3030, not stuffed), one buffer at a time, keeping no more than a few bytes
/// of state so that the body can be streamed to storage.
///
/// End of data is `CRLF . CRLF` and nothing else: a bare LF or CR never starts or ends a line
/// for that purpose unless `normalizeBareLineFeed` is set, in which case a bare LF is read as
/// CRLF everywhere (what goes upstream is then canonical, so no second message can be smuggled
/// through). Problems (bare LF, bare CR, an overlong line) are recorded in the `Summary` and the
/// session refuses the message once the data has ended.
public struct SMTPDataDecoder: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Read a bare LF as CRLF (SPEC `bare_newline = "normalize"`).
        public var normalizeBareLineFeed: Bool
        /// Longest text line allowed, octets including CRLF (RFC 5321 §4.5.3.1.6).
        public var maximumLineLength: Int
        /// DATA is dot-stuffed and ends with `CRLF.CRLF`; BDAT chunks are neither.
        public var dotStuffed: Bool

        public init(normalizeBareLineFeed: Bool, maximumLineLength: Int, dotStuffed: Bool) {
            self.normalizeBareLineFeed = normalizeBareLineFeed
            self.maximumLineLength = maximumLineLength
            self.dotStuffed = dotStuffed
        }
    }

    /// What was seen in the message, for the session to judge once the data has ended.
    public struct Summary: Sendable, Hashable {
        public var bareLineFeed = false
        public var bareCarriageReturn = false
        public var lineTooLong = false
        /// A NUL octet in the text: an upstream that drops NULs could read a `CRLF.CRLF` the
        /// client hid behind one, so such text is refused (issue 13, hole 11).
        public var nul = false
        /// Octets of decoded text.
        public var size = 0
        /// `Received:` header fields in the header section (RFC 5321 §6.3 loop detection).
        public var receivedHeaders = 0
        public init() {}
    }

    private enum LineState: Sendable {
        case lineStart
        case afterDot
        case afterDotCR
        case text
        case afterCR
    }

    public let configuration: Configuration
    public private(set) var summary = Summary()
    private var state = LineState.lineStart
    /// The line before this one ended in a bare LF (read as CRLF under "normalize"): then a
    /// `.` line is content, for only `CRLF.CRLF` ends the data (Postfix 3.9's normalize).
    private var previousLineEndedInBareLineFeed = false
    private var lineLength = 0
    private var inHeaders = true
    /// Octets of `received:` matched at the start of the current header line; -1 once it differs.
    private var headerMatch = 0

    private static let receivedPrefix = Array("received:".utf8)

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Decodes as much of `input` as it can, appending the decoded text to `output`.
    /// - Returns: `true` when the end of data was read (DATA only); the bytes after it stay in `input`.
    public mutating func decode(_ input: inout ByteBuffer, into output: inout ByteBuffer) -> Bool {
        var ended = false
        let consumed = input.withUnsafeReadableBytes { bytes -> Int in
            var runStart = 0
            var index = 0
            func flush(to end: Int) {
                if end > runStart {
                    output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<end]))
                    summary.size += end - runStart
                }
            }
            func emit(_ literal: StaticString) {
                output.writeStaticString(literal)
                summary.size += literal.utf8CodeUnitCount
            }
            while index < bytes.count {
                let byte = bytes[index]
                switch state {
                case .lineStart:
                    lineLength = 0
                    headerMatch = inHeaders ? 0 : -1
                    if byte == UInt8(ascii: ".") && configuration.dotStuffed {
                        // The dot is dropped and, being for transparency, not counted (RFC 5321 §4.5.3.1.6).
                        flush(to: index)
                        runStart = index + 1
                        state = .afterDot
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                        // An empty line ends the header section (RFC 5322 §2.1).
                        inHeaders = false
                        headerMatch = -1
                    }
                    state = .text
                    continue  // the same byte, as text
                case .afterDot:
                    if byte == UInt8(ascii: "\r") {
                        flush(to: index)
                        runStart = index + 1
                        state = .afterDotCR
                        lineLength += 1
                        index += 1
                        continue
                    }
                    if byte == UInt8(ascii: "\n") && configuration.normalizeBareLineFeed {
                        // `.` + bare LF is content, a line holding a dot (dot-stuffed again when
                        // relayed): no end of data but CRLF.CRLF, however the input is split.
                        emit(".\r")
                        lineLength += 3
                        runStart = index
                        endLine(bareLineFeed: true)
                    } else {
                        // Transparency: the stuffed dot is gone; the rest of the line is text.
                        state = .text
                        continue
                    }
                case .afterDotCR:
                    if byte == UInt8(ascii: "\n") && previousLineEndedInBareLineFeed {
                        // LF.CRLF: the line before ended in a bare LF, so this is no CRLF.CRLF.
                        emit(".\r")
                        lineLength += 2
                        runStart = index
                        endLine()
                    } else if byte == UInt8(ascii: "\n") {
                        index += 1
                        runStart = index
                        ended = true
                    } else {
                        // ".\r" then something else: a bare CR, kept so the text stays as sent.
                        summary.bareCarriageReturn = true
                        emit("\r")
                        state = .text
                        continue
                    }
                case .text:
                    lineLength += 1
                    if byte == UInt8(ascii: "\r") {
                        state = .afterCR
                    } else if byte == UInt8(ascii: "\n") {
                        if configuration.normalizeBareLineFeed {
                            flush(to: index)
                            emit("\r")
                            lineLength += 1  // the line goes on with CRLF
                            runStart = index
                            endLine(bareLineFeed: true)
                        } else {
                            // Under "reject" a bare LF ends no line: CRLF.CRLF stays the only end.
                            summary.bareLineFeed = true
                        }
                    } else if byte == 0 {
                        summary.nul = true
                    } else if headerMatch >= 0 {
                        matchHeader(byte)
                    }
                case .afterCR:
                    if byte == UInt8(ascii: "\n") {
                        lineLength += 1
                        endLine()
                    } else {
                        summary.bareCarriageReturn = true
                        state = .text
                        continue
                    }
                }
                if ended { break }
                index += 1
            }
            if !ended || runStart < index { flush(to: index) }
            return index
        }
        input.moveReaderIndex(forwardBy: consumed)
        return ended
    }

    private mutating func endLine(bareLineFeed: Bool = false) {
        if lineLength > configuration.maximumLineLength { summary.lineTooLong = true }
        previousLineEndedInBareLineFeed = bareLineFeed
        state = .lineStart
    }

    private mutating func matchHeader(_ byte: UInt8) {
        let lower = byte | (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? 0x20 : 0)
        if lower == Self.receivedPrefix[headerMatch] {
            headerMatch += 1
            if headerMatch == Self.receivedPrefix.count {
                summary.receivedHeaders += 1
                headerMatch = -1
            }
        } else {
            headerMatch = -1
        }
    }

    /// Checks the line length of a line still open when a BDAT LAST chunk ends.
    public mutating func finish() {
        if lineLength > configuration.maximumLineLength { summary.lineTooLong = true }
    }
}
