/// A DNS response, parsed from the wire (RFC 1035 §4.1). c-ares gives no TTLs with its own
/// parsers, so Relay walks the answer itself; every length is checked against the buffer, and
/// compression pointers may only point backwards, so a malformed answer is an error, never a
/// crash or a loop.
public struct DNSMessage: Sendable, Hashable {
    /// RFC 1035 §4.1.1 RCODE.
    public enum ResponseCode: Sendable, Hashable {
        case noError
        case formatError
        case serverFailure
        case nameError  // NXDOMAIN
        case notImplemented
        case refused
        case other(UInt8)

        init(_ value: UInt8) {
            switch value {
            case 0: self = .noError
            case 1: self = .formatError
            case 2: self = .serverFailure
            case 3: self = .nameError
            case 4: self = .notImplemented
            case 5: self = .refused
            default: self = .other(value)
            }
        }
    }

    /// The data of one record, for the types Relay reads.
    public enum RecordData: Sendable, Hashable {
        case a([UInt8])
        case aaaa([UInt8])
        case mx(preference: UInt16, exchange: String)
        case cname(String)
        case ptr(String)
        /// Only the minimum TTL matters here: it bounds negative caching (RFC 2308 §5).
        case soa(minimum: UInt32)
        case txt([String])
        case tlsa(usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8])
        case other(type: UInt16)
    }

    public struct Record: Sendable, Hashable {
        public var name: String
        public var type: UInt16
        public var ttl: UInt32
        public var data: RecordData
    }

    public var responseCode: ResponseCode
    public var truncated: Bool
    /// The AD bit (RFC 4035 §3.2.3).
    public var authenticData: Bool
    public var answers: [Record]
    public var authority: [Record]

    public enum ParseError: Error, Sendable, Hashable {
        case truncated
        case badName
        case badRecord
    }

    /// - Throws: `ParseError` for anything that does not fit the format.
    public init(parsing bytes: [UInt8]) throws(ParseError) {
        var reader = Reader(bytes: bytes)
        guard bytes.count >= 12 else { throw .truncated }
        let flags = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        truncated = flags & 0x0200 != 0
        authenticData = flags & 0x0020 != 0
        responseCode = ResponseCode(UInt8(flags & 0x000F))
        reader.offset = 4
        let questions = try reader.u16()
        let answerCount = try reader.u16()
        let authorityCount = try reader.u16()
        _ = try reader.u16()  // additional records are not used
        for _ in 0..<questions {
            _ = try reader.name()
            reader.offset += 4
        }
        answers = try (0..<answerCount).map { _ throws(ParseError) in try reader.record() }
        authority = try (0..<authorityCount).map { _ throws(ParseError) in try reader.record() }
    }

    /// Lowercases and drops a trailing dot, for comparing names.
    public static func canonical(_ name: String) -> String {
        var lower = name.lowercased()
        if lower.hasSuffix(".") && lower.count > 1 { lower.removeLast() }
        return lower
    }

    private struct Reader {
        let bytes: [UInt8]
        var offset = 0

        mutating func u8() throws(ParseError) -> UInt8 {
            guard offset < bytes.count else { throw .truncated }
            defer { offset += 1 }
            return bytes[offset]
        }

        mutating func u16() throws(ParseError) -> UInt16 {
            UInt16(try u8()) << 8 | UInt16(try u8())
        }

        mutating func u32() throws(ParseError) -> UInt32 {
            UInt32(try u16()) << 16 | UInt32(try u16())
        }

        mutating func take(_ count: Int) throws(ParseError) -> [UInt8] {
            guard count >= 0, offset + count <= bytes.count else { throw .truncated }
            defer { offset += count }
            return Array(bytes[offset..<(offset + count)])
        }

        /// Reads a possibly compressed name (RFC 1035 §4.1.4).
        mutating func name() throws(ParseError) -> String {
            var labels: [String] = []
            var position = offset
            var jumped = false
            var length = 0
            while true {
                guard position < bytes.count else { throw .truncated }
                let byte = bytes[position]
                if byte & 0xC0 == 0xC0 {
                    guard position + 1 < bytes.count else { throw .truncated }
                    let target = Int(byte & 0x3F) << 8 | Int(bytes[position + 1])
                    // Only backwards: a pointer can then never loop.
                    guard target < position else { throw .badName }
                    if !jumped { offset = position + 2 }
                    jumped = true
                    position = target
                    continue
                }
                guard byte & 0xC0 == 0 else { throw .badName }
                let labelLength = Int(byte)
                if labelLength == 0 {
                    if !jumped { offset = position + 1 }
                    break
                }
                guard position + 1 + labelLength <= bytes.count else { throw .truncated }
                length += labelLength + 1
                // RFC 1035 §3.1: at most 255 octets, counting the root label's length octet.
                guard length + 1 <= 255 else { throw .badName }
                labels.append(String(decoding: bytes[(position + 1)...(position + labelLength)], as: UTF8.self))
                position += 1 + labelLength
            }
            return labels.isEmpty ? "." : labels.joined(separator: ".")
        }

        mutating func record() throws(ParseError) -> Record {
            let name = try name()
            let type = try u16()
            _ = try u16()  // class
            let ttl = try u32()
            let length = Int(try u16())
            let end = offset + length
            guard end <= bytes.count else { throw .truncated }
            let data: RecordData
            switch DNSRecordType(rawValue: type) {
            case .a:
                guard length == 4 else { throw .badRecord }
                data = .a(try take(4))
            case .aaaa:
                guard length == 16 else { throw .badRecord }
                data = .aaaa(try take(16))
            case .mx:
                let preference = try u16()
                data = .mx(preference: preference, exchange: try self.name())
            case .cname:
                data = .cname(try self.name())
            case .ptr:
                data = .ptr(try self.name())
            case .soa:
                _ = try self.name()
                _ = try self.name()
                offset += 16
                data = .soa(minimum: try u32())
            case .txt:
                var strings: [String] = []
                while offset < end {
                    let count = Int(try u8())
                    strings.append(String(decoding: try take(count), as: UTF8.self))
                }
                data = .txt(strings)
            case .tlsa:
                guard length >= 3 else { throw .badRecord }
                data = .tlsa(usage: try u8(), selector: try u8(), matchingType: try u8(), data: try take(length - 3))
            case nil:
                data = .other(type: type)
            }
            guard offset <= end else { throw .badRecord }
            offset = end
            return Record(name: name, type: type, ttl: ttl, data: data)
        }
    }
}
