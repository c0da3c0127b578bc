import NIOCore

/// An RFC 3463 enhanced status code such as `5.7.1`.
public struct EnhancedStatusCode: Sendable, Hashable, CustomStringConvertible {
    public var `class`: Int
    public var subject: Int
    public var detail: Int

    /// - Parameters: the three parts of `class.subject.detail`.
    public init(_ class: Int, _ subject: Int, _ detail: Int) {
        self.class = `class`
        self.subject = subject
        self.detail = detail
    }

    public var description: String { "\(self.class).\(subject).\(detail)" }
}

/// One SMTP reply: a three-digit code, an optional enhanced status code and one or more text lines.
public struct SMTPReply: Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var enhancedCode: EnhancedStatusCode?
    public var lines: [String]

    /// - Parameters:
    ///   - code: the RFC 5321 reply code, 200 to 599.
    ///   - enhancedCode: RFC 3463 status, written after the code on every line.
    ///   - lines: the text; an empty array sends the code alone.
    public init(code: Int, _ enhancedCode: EnhancedStatusCode?, _ lines: [String]) {
        precondition((200...599).contains(code), "SMTP reply code out of range: \(code)")
        self.code = code
        self.enhancedCode = enhancedCode
        self.lines = lines.isEmpty ? [""] : lines
    }

    /// A one-line reply.
    public init(code: Int, _ enhancedCode: EnhancedStatusCode?, _ text: String) {
        self.init(code: code, enhancedCode, [text])
    }

    /// True for 4xx and 5xx replies.
    public var isError: Bool { code >= 400 }

    /// The reply as it goes on the wire, every line ending in CRLF.
    public var description: String {
        var out = ""
        for (index, line) in lines.enumerated() {
            let separator = index == lines.count - 1 ? " " : "-"
            out += "\(code)\(separator)"
            if let enhancedCode { out += "\(enhancedCode) " }
            out += line
            // Trailing blanks when the text is empty are harmless but untidy.
            while out.hasSuffix(" ") { out.removeLast() }
            out += "\r\n"
        }
        return out
    }

    /// Appends the wire form to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeString(description)
    }
}
