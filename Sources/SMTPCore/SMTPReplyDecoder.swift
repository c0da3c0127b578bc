import NIOCore

/// Frames a server's replies (RFC 5321 §4.2): lines `NNN-text` continue a reply, `NNN text`
/// (or `NNN` alone) ends it. Bounded, so a server that never ends a line or a reply cannot make
/// the client buffer without limit.
public struct SMTPReplyDecoder: Sendable {
    /// Longest reply line accepted, octets with CRLF (RFC 5321 §4.5.3.1.5 says 512; servers exceed it).
    public static let maximumLineLength = 4096
    /// Most lines in one reply.
    public static let maximumLines = 200

    public enum DecodeError: Error, Sendable, Hashable {
        case lineTooLong
        case tooManyLines
        case malformed(String)
    }

    private var lines: [String] = []
    private var code: Int?

    public init() {}

    /// - Returns: the next complete reply, or `nil` when more input is needed.
    /// - Throws: `DecodeError` for input that is not a reply.
    public mutating func next(_ input: inout ByteBuffer) throws(DecodeError) -> SMTPReply? {
        while true {
            // Bytes, not Strings, until a line is known good: this runs for every reply the
            // worker reads.
            let view = input.readableBytesView
            guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if input.readableBytes > Self.maximumLineLength { throw .lineTooLong }
                return nil
            }
            let length = lf - view.startIndex + 1
            guard length <= Self.maximumLineLength else { throw .lineTooLong }
            var end = lf
            if end > view.startIndex && view[end - 1] == UInt8(ascii: "\r") { end -= 1 }  // a bare LF is tolerated from servers
            let line = view[view.startIndex..<end]
            input.moveReaderIndex(forwardBy: length)
            let start = line.startIndex
            guard line.count >= 3, let lineCode = Self.code(line[start], line[start + 1], line[start + 2]) else {
                throw .malformed(String(decoding: line, as: UTF8.self))
            }
            if let code, code != lineCode { throw .malformed(String(decoding: line, as: UTF8.self)) }
            code = lineCode
            let separator = line.count > 3 ? line[start + 3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else {
                throw .malformed(String(decoding: line, as: UTF8.self))
            }
            lines.append(line.count > 4 ? String(decoding: line[(start + 4)...], as: UTF8.self) : "")
            guard lines.count <= Self.maximumLines else { throw .tooManyLines }
            if separator == UInt8(ascii: " ") {
                defer {
                    lines = []
                    code = nil
                }
                return Self.reply(code: lineCode, lines: lines)
            }
        }
    }

    /// The reply code of three ASCII digits, if it lies in 200...599.
    private static func code(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        let digits = UInt8(ascii: "0")...UInt8(ascii: "9")
        guard digits.contains(a), digits.contains(b), digits.contains(c) else { return nil }
        let value = Int(a - 48) * 100 + Int(b - 48) * 10 + Int(c - 48)
        return (200...599).contains(value) ? value : nil
    }

    /// Splits a leading enhanced status code (RFC 2034) off the first line, and off every other
    /// line that repeats it.
    static func reply(code: Int, lines: [String]) -> SMTPReply {
        guard let first = lines.first, let (status, length) = enhancedStatus(first.utf8, replyClass: code / 100) else {
            return SMTPReply(code: code, nil, lines)
        }
        let prefix = first.utf8.prefix(length)
        let stripped = lines.map { line -> String in
            guard line.utf8.starts(with: prefix) else { return line }
            return String(decoding: line.utf8.dropFirst(length).drop(while: { $0 == UInt8(ascii: " ") }), as: UTF8.self)
        }
        return SMTPReply(code: code, status, stripped)
    }

    /// `class.subject.detail` (RFC 3463: digit, 1–3 digits, 1–3 digits) ending at a space or the
    /// end of the text, whose class is the reply's. - Returns: the code and its length in octets.
    private static func enhancedStatus(_ text: String.UTF8View, replyClass: Int) -> (EnhancedStatusCode, Int)? {
        var parts: [Int] = []
        var value = 0
        var digits = 0
        var length = 0
        for byte in text {
            if byte == UInt8(ascii: " ") { break }
            length += 1
            if byte == UInt8(ascii: ".") {
                guard digits > 0, parts.count < 2 else { return nil }
                parts.append(value)
                value = 0
                digits = 0
            } else if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
                digits += 1
                guard digits <= 3 else { return nil }
                value = value * 10 + Int(byte - 48)
            } else {
                return nil
            }
        }
        guard parts.count == 2, digits > 0, parts[0] == replyClass, parts[0] < 10 else { return nil }
        return (EnhancedStatusCode(parts[0], parts[1], value), length)
    }
}

/// What a server offered in its EHLO reply (RFC 5321 §4.1.1.1).
public struct SMTPServerCapabilities: Sendable, Hashable {
    public var pipelining = false
    /// SIZE with its limit; 0 means no limit announced.
    public var size: Int?
    public var eightBitMIME = false
    public var smtputf8 = false
    public var dsn = false
    public var startTLS = false
    public var chunking = false
    public var enhancedStatusCodes = false
    public var authMechanisms: [String] = []

    public init() {}

    /// Reads the keywords of an EHLO reply (the first line is the greeting).
    public init(ehloReply: SMTPReply) {
        for line in ehloReply.lines.dropFirst() {
            let words = line.split(separator: " ")
            guard let keyword = words.first?.uppercased() else { continue }
            switch keyword {
            case "PIPELINING": pipelining = true
            case "SIZE": size = words.count > 1 ? Int(words[1]) ?? 0 : 0
            case "8BITMIME": eightBitMIME = true
            case "SMTPUTF8": smtputf8 = true
            case "DSN": dsn = true
            case "STARTTLS": startTLS = true
            case "CHUNKING": chunking = true
            case "ENHANCEDSTATUSCODES": enhancedStatusCodes = true
            case "AUTH": authMechanisms = words.dropFirst().map { $0.uppercased() }
            default: break
            }
        }
    }
}
