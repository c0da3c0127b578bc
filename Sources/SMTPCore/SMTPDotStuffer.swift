import NIOCore

/// Turns stored message text into DATA's wire form (RFC 5321 §4.5.2): CRLF line endings only
/// (a bare LF or CR becomes CRLF), a dot doubled at the start of every line, and a final
/// CRLF before the terminating `.` CRLF. Works chunk by chunk with constant state.
public struct SMTPDotStuffer: Sendable {
    private var atLineStart = true
    private var afterCR = false

    public init() {}

    /// Encodes one chunk of text, appending to `output`.
    public mutating func encode(_ input: ByteBuffer, into output: inout ByteBuffer) {
        output.reserveCapacity(minimumWritableBytes: input.readableBytes + input.readableBytes / 64 + 8)
        for byte in input.readableBytesView {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") {
                    output.writeStaticString("\r\n")
                    atLineStart = true
                    continue
                }
                output.writeStaticString("\r\n")  // a bare CR ends its line
                atLineStart = true
            }
            switch byte {
            case UInt8(ascii: "\r"):
                afterCR = true
            case UInt8(ascii: "\n"):
                output.writeStaticString("\r\n")
                atLineStart = true
            default:
                if atLineStart && byte == UInt8(ascii: ".") { output.writeInteger(UInt8(ascii: ".")) }
                output.writeInteger(byte)
                atLineStart = false
            }
        }
    }

    /// Ends the text: closes an open line and appends `.` CRLF.
    public mutating func finish(into output: inout ByteBuffer) {
        if afterCR || !atLineStart { output.writeStaticString("\r\n") }
        afterCR = false
        atLineStart = true
        output.writeStaticString(".\r\n")
    }
}
