import NIOCore

/// Turns stored message text into DATA's wire form (RFC 5321 §4.5.2): CRLF line endings only
/// (a bare LF or CR becomes CRLF), a dot doubled at the start of every line, and a final
/// CRLF before the terminating `.` CRLF. Works chunk by chunk with constant state.
public struct SMTPDotStuffer: Sendable {
    private var atLineStart = true
    private var afterCR = false

    public init() {}

    /// Encodes one chunk of text, appending to `output`. Runs of ordinary bytes are copied
    /// whole; only CR, LF and a dot at a line start are looked at one by one.
    public mutating func encode(_ input: ByteBuffer, into output: inout ByteBuffer) {
        output.reserveCapacity(minimumWritableBytes: input.readableBytes + input.readableBytes / 64 + 8)
        input.withUnsafeReadableBytes { bytes in
            var index = 0
            while index < bytes.count {
                let byte = bytes[index]
                if afterCR {
                    afterCR = false
                    output.writeStaticString("\r\n")  // a bare CR ends its line too
                    atLineStart = true
                    if byte == UInt8(ascii: "\n") {
                        index += 1
                        continue
                    }
                }
                if byte == UInt8(ascii: "\r") {
                    afterCR = true
                    index += 1
                    continue
                }
                if byte == UInt8(ascii: "\n") {
                    output.writeStaticString("\r\n")
                    atLineStart = true
                    index += 1
                    continue
                }
                if atLineStart && byte == UInt8(ascii: ".") { output.writeInteger(UInt8(ascii: ".")) }
                // Copy up to the next CR or LF in one go.
                var end = index + 1
                while end < bytes.count && bytes[end] != UInt8(ascii: "\r") && bytes[end] != UInt8(ascii: "\n") { end += 1 }
                output.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[index..<end]))
                atLineStart = false
                index = end
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
