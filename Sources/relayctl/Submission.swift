import Foundation
import NIOCore
import RelayConfig
import SMTPCore

/// Hands a message from stdin to the local listener over SMTP, so it gets exactly the checks,
/// `Received:` header and durability (250 only after fsync) of any SMTP client.
struct Submission {
    var sender: String
    var recipients: [String]
    var text: [UInt8]

    /// What the listener said, mapped to sysexits(3) as callers of sendmail expect.
    struct Failure: Error {
        var code: Int32
        var message: String
    }

    /// - Returns: the queue id.
    func submit(to configuration: RelayConfiguration) throws(Failure) -> String {
        guard let listener = configuration.listeners.first(where: { $0.mode == .smtp && !$0.requireTLS && !$0.requireAuth })
        else { throw Failure(code: 69, message: "no plain SMTP listener to submit to in the configuration") }
        var host = listener.address.host
        if host == "0.0.0.0" || host.isEmpty { host = "127.0.0.1" }
        if host == "::" { host = "::1" }
        let connection = try LineConnection(host: host, port: listener.address.port)
        defer { connection.close() }
        try connection.expect(220)
        try connection.command("EHLO localhost", expect: 250)
        let utf8 = !sender.utf8.allSatisfy { $0 < 0x80 } || recipients.contains { !$0.utf8.allSatisfy { $0 < 0x80 } }
        try connection.command("MAIL FROM:<\(sender)>" + (utf8 ? " SMTPUTF8" : ""), expect: 250)
        for recipient in recipients {
            do {
                try connection.command("RCPT TO:<\(recipient)>", expect: 250)
            } catch where error.code != 75 {
                // A refused recipient: sysexits' EX_NOUSER, whatever the reply code.
                throw Failure(code: 67, message: "<\(recipient)>: \(error.message)")
            }
        }
        try connection.command("DATA", expect: 354)
        var stuffer = SMTPDotStuffer()
        var wire = ByteBuffer()
        stuffer.encode(ByteBuffer(bytes: text), into: &wire)
        stuffer.finish(into: &wire)
        try connection.send(Array(wire.readableBytesView))
        let reply = try connection.reply()
        guard reply.code == 250 else {
            // Refused after the text: the message itself is at fault (EX_DATAERR) unless temporary.
            var failure = Self.failure(reply)
            if reply.code >= 500 { failure.code = 65 }
            throw failure
        }
        _ = try? connection.command("QUIT", expect: 221)
        return reply.lines.first?.split(separator: " ").last.map(String.init) ?? ""
    }

    static func failure(_ reply: SMTPReply) -> Failure {
        let text = "\(reply.code) \(reply.enhancedCode.map { "\($0) " } ?? "")\(reply.lines.joined(separator: " "))"
        switch reply.code {
        case 400..<500: return Failure(code: 75, message: text)  // EX_TEMPFAIL
        case 550, 551, 553: return Failure(code: 67, message: text)  // EX_NOUSER
        case 552, 554: return Failure(code: 65, message: text)  // EX_DATAERR
        default: return Failure(code: 69, message: text)  // EX_UNAVAILABLE
        }
    }
}

/// A blocking SMTP client socket, enough for one local submission.
final class LineConnection {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init(host: String, port: Int) throws(Submission.Failure) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else {
            throw Submission.Failure(code: 69, message: "cannot resolve \(host)")
        }
        defer { freeaddrinfo(result) }
        fd = socket(info.pointee.ai_family, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0, connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            throw Submission.Failure(code: 75, message: "the listener is not running on \(host):\(port): \(String(cString: strerror(errno)))")
        }
        var time = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    func close() { Glibc.close(fd) }

    func send(_ bytes: [UInt8]) throws(Submission.Failure) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard written > 0 else { throw Submission.Failure(code: 75, message: "lost the connection to the listener") }
            offset += written
        }
    }

    func reply() throws(Submission.Failure) -> SMTPReply {
        var decoder = SMTPReplyDecoder()
        var input = ByteBuffer(bytes: buffer)
        while true {
            do {
                if let reply = try decoder.next(&input) {
                    buffer = Array(input.readableBytesView)
                    return reply
                }
            } catch {
                throw Submission.Failure(code: 69, message: "bad reply from the listener: \(error)")
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(fd, &chunk, chunk.count)
            guard count > 0 else { throw Submission.Failure(code: 75, message: "the listener closed the connection") }
            input.writeBytes(chunk[..<count])
        }
    }

    func expect(_ code: Int) throws(Submission.Failure) {
        let reply = try reply()
        guard reply.code == code else { throw Submission.failure(reply) }
    }

    func command(_ line: String, expect code: Int) throws(Submission.Failure) {
        try send(Array((line + "\r\n").utf8))
        try expect(code)
    }
}

/// Recipients from To:, Cc: and Bcc: (for -t), and the text with Bcc: removed.
enum HeaderRecipients {
    static func extract(_ text: [UInt8]) -> (recipients: [String], text: [UInt8]) {
        let string = String(decoding: text, as: UTF8.self)
        guard let end = string.range(of: "\r\n\r\n") ?? string.range(of: "\n\n") else { return ([], text) }
        let header = String(string[..<end.lowerBound])
        // Unfold (RFC 5322 §2.2.3), then read the address fields.
        let fields = header.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n ", with: " ")
            .replacingOccurrences(of: "\n\t", with: " ").split(separator: "\n", omittingEmptySubsequences: false)
        var recipients: [String] = []
        var kept: [Substring] = []
        for field in fields {
            let name = field.prefix(while: { $0 != ":" }).lowercased()
            if ["to", "cc", "bcc"].contains(name) { recipients += addresses(in: field.drop(while: { $0 != ":" }).dropFirst()) }
            if name != "bcc" { kept.append(field) }
        }
        let newline = string.contains("\r\n") ? "\r\n" : "\n"
        let body = string[end.lowerBound...]
        return (recipients, Array((kept.joined(separator: newline) + body).utf8))
    }

    /// `a@b, "Name" <c@d>` → [a@b, c@d].
    static func addresses(in value: Substring) -> [String] {
        value.split(separator: ",").compactMap { part in
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if let open = trimmed.lastIndex(of: "<"), let close = trimmed.lastIndex(of: ">"), open < close {
                return String(trimmed[trimmed.index(after: open)..<close])
            }
            return trimmed.contains("@") ? trimmed : nil
        }
    }
}
