import NIOCore

/// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2) that a TCP load
/// balancer sends before anything else, naming the client it accepted the connection from.
public enum ProxyProtocolHeader: Sendable, Hashable {
    /// The client as the proxy saw it.
    case proxied(ProxiedAddress)
    /// The proxy speaks for itself (v2 LOCAL, v1 UNKNOWN, or an unspecified family): the
    /// connection's own peer is the client.
    case local

    /// The source address: text for version 1 (to be checked by the caller), octets for version 2.
    public enum ProxiedAddress: Sendable, Hashable {
        case text(String, port: Int)
        case octets([UInt8], port: Int)
    }

    public enum DecodeError: Error, Sendable, Hashable {
        /// Neither signature: the peer does not speak the PROXY protocol.
        case notProxyProtocol
        case malformed(String)
    }

    /// Longest version 1 header, CRLF included.
    public static let maximumVersion1Length = 107
    /// Longest version 2 header accepted (its TLVs are skipped).
    public static let maximumVersion2Length = 16 + 4096

    static let version1Prefix = Array("PROXY ".utf8)
    static let version2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    /// Reads one header from the front of `input`.
    /// - Returns: the header, its octets consumed; nil when more input is needed (nothing consumed).
    /// - Throws: `DecodeError` as soon as the input cannot be a header.
    public static func decode(_ input: inout ByteBuffer) throws(DecodeError) -> ProxyProtocolHeader? {
        let view = input.readableBytesView
        let prefix = view.prefix(12)
        if !prefix.isEmpty && version2Signature.starts(with: prefix) {
            guard view.count >= 16 else { return nil }
            return try decodeVersion2(&input)
        }
        if version1Prefix.starts(with: view.prefix(6)) {
            guard view.count >= 6 else { return nil }
            return try decodeVersion1(&input)
        }
        throw .notProxyProtocol
    }

    private static func decodeVersion1(_ input: inout ByteBuffer) throws(DecodeError) -> ProxyProtocolHeader? {
        let view = input.readableBytesView
        guard let lf = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count >= maximumVersion1Length { throw .malformed("version 1 header longer than 107 octets") }
            return nil
        }
        let length = lf - view.startIndex + 1
        guard length <= maximumVersion1Length else { throw .malformed("version 1 header longer than 107 octets") }
        guard lf > view.startIndex, view[lf - 1] == UInt8(ascii: "\r") else { throw .malformed("version 1 header not ended by CRLF") }
        let line = String(decoding: view[view.startIndex..<(lf - 1)], as: UTF8.self)
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard fields.count >= 2 else { throw .malformed("version 1 header without a protocol") }
        switch fields[1] {
        case "UNKNOWN":
            input.moveReaderIndex(forwardBy: length)
            return .local
        case "TCP4", "TCP6":
            guard fields.count == 6 else { throw .malformed("version 1 header needs 6 fields, has \(fields.count)") }
            guard let port = decimalPort(fields[4]), decimalPort(fields[5]) != nil else {
                throw .malformed("version 1 header with a bad port")
            }
            input.moveReaderIndex(forwardBy: length)
            return .proxied(.text(String(fields[2]), port: port))
        default:
            throw .malformed("version 1 header with protocol \(fields[1])")
        }
    }

    /// 1 to 5 ASCII digits, at most 65535.
    private static func decimalPort(_ text: Substring) -> Int? {
        guard (1...5).contains(text.utf8.count), text.utf8.allSatisfy({ (48...57).contains($0) }), let value = Int(text),
            value <= 65535
        else { return nil }
        return value
    }

    private static func decodeVersion2(_ input: inout ByteBuffer) throws(DecodeError) -> ProxyProtocolHeader? {
        let view = input.readableBytesView
        let start = view.startIndex
        let versionAndCommand = view[start + 12]
        let familyAndTransport = view[start + 13]
        let bodyLength = Int(view[start + 14]) << 8 | Int(view[start + 15])
        guard versionAndCommand >> 4 == 2 else { throw .malformed("version 2 header with version \(versionAndCommand >> 4)") }
        guard 16 + bodyLength <= maximumVersion2Length else { throw .malformed("version 2 header of \(16 + bodyLength) octets") }
        guard view.count >= 16 + bodyLength else { return nil }
        let body = Array(view[(start + 16)..<(start + 16 + bodyLength)])
        input.moveReaderIndex(forwardBy: 16 + bodyLength)
        switch versionAndCommand & 0x0F {
        case 0x0:
            return .local  // health checks and the like: the proxy's own connection
        case 0x1:
            break
        default:
            throw .malformed("version 2 header with command \(versionAndCommand & 0x0F)")
        }
        let family = familyAndTransport >> 4
        let transport = familyAndTransport & 0x0F
        if family == 0 { return .local }  // UNSPEC: the addresses say nothing
        guard transport == 1 else { throw .malformed("version 2 header for a transport other than TCP") }
        func port(at offset: Int) -> Int { Int(body[offset]) << 8 | Int(body[offset + 1]) }
        switch family {
        case 1:
            guard body.count >= 12 else { throw .malformed("version 2 IPv4 addresses cut short") }
            return .proxied(.octets(Array(body[0..<4]), port: port(at: 8)))
        case 2:
            guard body.count >= 36 else { throw .malformed("version 2 IPv6 addresses cut short") }
            return .proxied(.octets(Array(body[0..<16]), port: port(at: 32)))
        default:
            throw .malformed("version 2 header for address family \(family)")
        }
    }
}
