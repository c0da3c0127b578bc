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
            let view = input.readableBytesView
            guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
                if input.readableBytes > Self.maximumLineLength { throw .lineTooLong }
                return nil
            }
            let length = lf - view.startIndex + 1
            guard length <= Self.maximumLineLength else { throw .lineTooLong }
            // Invariant: length readable bytes exist, since lf lies inside the view.
            var raw = input.readBytes(length: length)!
            raw.removeLast()
            if raw.last == UInt8(ascii: "\r") { raw.removeLast() }  // a bare LF is tolerated from servers
            let text = String(decoding: raw, as: UTF8.self)
            let utf8 = Array(text.utf8)
            guard utf8.count >= 3, utf8[0...2].allSatisfy({ (48...57).contains($0) }),
                let lineCode = Int(String(text.prefix(3))), (200...599).contains(lineCode)
            else { throw .malformed(text) }
            if let code, code != lineCode { throw .malformed(text) }
            code = lineCode
            let separator = utf8.count > 3 ? utf8[3] : UInt8(ascii: " ")
            guard separator == UInt8(ascii: " ") || separator == UInt8(ascii: "-") else { throw .malformed(text) }
            lines.append(utf8.count > 4 ? String(text.dropFirst(4)) : "")
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

    /// Splits a leading enhanced status code (RFC 2034) off the first line.
    static func reply(code: Int, lines: [String]) -> SMTPReply {
        guard let first = lines.first, let space = first.firstIndex(of: " ") ?? Optional(first.endIndex) else {
            return SMTPReply(code: code, nil, lines)
        }
        let parts = first[..<space].split(separator: ".")
        if parts.count == 3, let c = Int(parts[0]), let s = Int(parts[1]), let d = Int(parts[2]), c == code / 100 {
            let strip: (String) -> String = { line in
                guard line.hasPrefix(first[..<space]) else { return line }
                return String(line.dropFirst(first[..<space].count).drop(while: { $0 == " " }))
            }
            return SMTPReply(code: code, EnhancedStatusCode(c, s, d), lines.map(strip))
        }
        return SMTPReply(code: code, nil, lines)
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
