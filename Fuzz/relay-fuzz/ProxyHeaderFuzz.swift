import NIOCore
import SMTPCore

/// `ProxyProtocolHeader.decode` (v1 and v2): the whole input and the input given one octet more
/// at a time must decode to the same header, consume the same octets, or fail alike.
enum ProxyHeaderFuzz {
    static func run(_ bytes: [UInt8]) {
        let whole = decode(bytes[...])
        var growing: Outcome = .needMore
        for end in 0...bytes.count {
            growing = decode(bytes[..<end])
            if growing != .needMore { break }
        }
        invariant(whole == growing, "prefix decoding differs: \(whole) \(growing)")
    }

    enum Outcome: Equatable {
        case header(ProxyProtocolHeader, consumed: Int)
        case needMore
        case error(ProxyProtocolHeader.DecodeError)
    }

    static func decode(_ bytes: ArraySlice<UInt8>) -> Outcome {
        var input = ByteBuffer(bytes: bytes)
        do {
            guard let header = try ProxyProtocolHeader.decode(&input) else {
                invariant(input.readableBytes == bytes.count, "octets consumed without a header")
                return .needMore
            }
            return .header(header, consumed: bytes.count - input.readableBytes)
        } catch {
            return .error(error)
        }
    }
}
