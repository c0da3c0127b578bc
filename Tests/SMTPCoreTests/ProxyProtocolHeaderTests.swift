import NIOCore
import SMTPCore
import Testing

/// Decodes `bytes` fed whole, then byte by byte, and checks both agree.
private func decode(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation)
    -> (header: ProxyProtocolHeader?, error: ProxyProtocolHeader.DecodeError?, left: Int)
{
    func run(_ chunks: [[UInt8]]) -> (ProxyProtocolHeader?, ProxyProtocolHeader.DecodeError?, Int) {
        var buffer = ByteBuffer()
        do throws(ProxyProtocolHeader.DecodeError) {
            for chunk in chunks {
                buffer.writeBytes(chunk)
                if let header = try ProxyProtocolHeader.decode(&buffer) { return (header, nil, buffer.readableBytes) }
            }
            return (nil, nil, buffer.readableBytes)
        } catch {
            return (nil, error, buffer.readableBytes)
        }
    }
    let whole = run([bytes])
    let dripped = run(bytes.map { [$0] })
    #expect(whole.0 == dripped.0 && whole.1 == dripped.1, "fed whole and byte by byte", sourceLocation: sourceLocation)
    return whole
}

private func version2(command: UInt8 = 0x21, family: UInt8 = 0x11, body: [UInt8]) -> [UInt8] {
    [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, command, family,
     UInt8(body.count >> 8), UInt8(body.count & 0xFF)] + body
}

@Suite struct ProxyProtocolHeaderTests {
    @Test func version1TCP4GivesTheSourceAndLeavesWhatFollows() {
        let decoded = decode(Array("PROXY TCP4 192.0.2.7 198.51.100.1 40000 25\r\nEHLO x\r\n".utf8))
        #expect(decoded.header == .proxied(.text("192.0.2.7", port: 40000)))
        #expect(decoded.left == "EHLO x\r\n".utf8.count)
    }

    @Test func version1TCP6() {
        let decoded = decode(Array("PROXY TCP6 2001:db8::7 2001:db8::1 5555 25\r\n".utf8))
        #expect(decoded.header == .proxied(.text("2001:db8::7", port: 5555)))
    }

    @Test func version1UnknownMeansTheConnectionItself() {
        #expect(decode(Array("PROXY UNKNOWN\r\n".utf8)).header == .local)
        #expect(decode(Array("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n".utf8)).header == .local)
    }

    @Test(arguments: [
        "PROXY TCP4 192.0.2.7 198.51.100.1 40000\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 +40 25\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 70000 25\r\n",
        "PROXY UDP4 192.0.2.7 198.51.100.1 1 2\r\n",
        "PROXY TCP4 192.0.2.7 198.51.100.1 1 2\n",
    ])
    func malformedVersion1HeadersAreRefused(line: String) {
        let decoded = decode(Array(line.utf8))
        #expect(decoded.header == nil)
        guard case .malformed = decoded.error else {
            Issue.record("expected malformed, got \(String(describing: decoded.error))")
            return
        }
    }

    @Test func aVersion1LineWithoutEndIsRefusedAtItsLimit() {
        let line = "PROXY TCP4 " + String(repeating: "1", count: 200)
        #expect(decode(Array(line.utf8)).error == .malformed("version 1 header longer than 107 octets"))
        #expect(decode(Array(line.prefix(100).utf8)).error == nil, "short of the limit it waits for more")
    }

    @Test func version2IPv4WithATLVAfterTheAddresses() {
        let body: [UInt8] = [192, 0, 2, 7, 198, 51, 100, 1, 0x9C, 0x40, 0, 25] + [0x20, 0, 1, 0]
        let decoded = decode(version2(body: body) + Array("EHLO".utf8))
        #expect(decoded.header == .proxied(.octets([192, 0, 2, 7], port: 40000)))
        #expect(decoded.left == 4)
    }

    @Test func version2IPv6() {
        let source: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [7]
        let body = source + [UInt8](repeating: 0, count: 16) + [0x15, 0xB3, 0, 25]
        #expect(decode(version2(family: 0x21, body: body)).header == .proxied(.octets(source, port: 5555)))
    }

    @Test func version2LocalAndUnspecifiedMeanTheConnectionItself() {
        #expect(decode(version2(command: 0x20, body: [])).header == .local)
        #expect(decode(version2(family: 0x00, body: [])).header == .local)
    }

    @Test(arguments: [
        (version2(command: 0x11, body: []), "version 2 header with version 1"),
        (version2(command: 0x22, body: []), "version 2 header with command 2"),
        (version2(family: 0x12, body: [UInt8](repeating: 0, count: 12)), "version 2 header for a transport other than TCP"),
        (version2(family: 0x31, body: [UInt8](repeating: 0, count: 216)), "version 2 header for address family 3"),
        (version2(body: [1, 2, 3]), "version 2 IPv4 addresses cut short"),
    ])
    func malformedVersion2HeadersAreRefused(bytes: [UInt8], reason: String) {
        #expect(decode(bytes).error == .malformed(reason))
    }

    @Test func aHugeVersion2LengthIsRefusedBeforeItArrives() {
        let header = Array(version2(body: []).prefix(14)) + [0xFF, 0xFF]
        #expect(decode(header).error == .malformed("version 2 header of 65551 octets"))
    }

    @Test(arguments: ["EHLO client.example\r\n", "GET / HTTP/1.0\r\n", "\r\n\r\n\u{1}"])
    func anythingElseIsNotTheProxyProtocol(text: String) {
        #expect(decode(Array(text.utf8)).error == .notProxyProtocol)
    }

    @Test func aPartialHeaderWaits() {
        let line = decode(Array("PROXY TCP4 192.0.2.7".utf8))
        #expect(line.header == nil && line.error == nil && line.left == 20)
        let partial = decode(Array(version2(body: [192, 0, 2, 7, 198, 51, 100, 1, 0, 1, 0, 25]).prefix(20)))
        #expect(partial.header == nil && partial.error == nil && partial.left == 20)
    }
}
