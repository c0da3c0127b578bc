import DeliveryCore
import Foundation
import NIOCore
import SMTPClient
import SMTPCore
import Spool

/// Client timeouts (RFC 5321 §4.5.3.2), from `[delivery]`: the greeting waits
/// `connect_timeout`, each command reply `command_timeout`, the final dot `data_timeout`.
struct SMTPClientTimeouts: Sendable {
    var greeting: Duration
    var command: Duration
    var dataInitiation: Duration
    var finalDot: Duration
}

/// What one transaction did to each recipient it was given.
enum TransactionResult: Sendable {
    /// Replies for every recipient (2xx, 4xx or 5xx), and whether the connection may be reused.
    case completed([Int64: (reply: String, outcome: ReplyOutcome)], reusable: Bool)
    /// The connection failed before the outcome was known: try the next host.
    case connectionFailed(String)
    /// The final dot was sent but its reply was lost: the server may have the message (RFC 1047).
    case replyLost(String)
}

/// A message whose text is written but whose last piece and final dot are held back, to go out
/// in front of the next transaction's commands.
struct HeldEnd: Sendable {
    /// The rest of the text, dot-stuffed, with the final `.CRLF`.
    var text: ByteBuffer
    /// Recipients the server accepted; the final reply decides for them.
    var accepted: [DueRecipient]
    /// Recipients already decided (refused at RCPT).
    var results: [Int64: (reply: String, outcome: ReplyOutcome)]

    /// The transaction's result once the reply to the final dot is in.
    func completed(by final: SMTPReply) -> TransactionResult {
        var results = results
        for recipient in accepted { results[recipient.id] = (ReplyOutcome.text(of: final), ReplyOutcome(final)) }
        return .completed(results, reusable: true)
    }
}

/// One message's state after `send`: finished, or its end held back.
enum SendResult: Sendable {
    case finished(TransactionResult)
    case held(HeldEnd)
}

/// How a connection uses TLS (the route's or `[delivery]`'s `tls`, and `implicit_tls`).
struct TLSUse: Sendable {
    enum Policy: Sendable {
        case none
        case opportunistic
        case required
        case verify
    }

    var policy: Policy
    var implicit: Bool
    /// Puts a client TLS handler (SNI, and name checks for `verify`) in front of the pipeline.
    var install: (@Sendable (any Channel) throws -> Void)?
}

/// A greeted, EHLO'd connection to one server, reusable for several transactions.
final class SMTPDeliverySession: Sendable {
    let connection: SMTPClientConnection
    let capabilities: SMTPServerCapabilities
    /// `name[address]:port` for logs and DSNs.
    let relay: String
    let remoteName: String
    /// The conversation runs over TLS.
    let encrypted: Bool
    /// The server's greeting and its first EHLO reply (nil after HELO), which name it: a name
    /// that is ours means the mail loops (`MailLoop`).
    let greeting: SMTPReply
    let ehloReply: SMTPReply?
    private let timeouts: SMTPClientTimeouts

    private init(
        connection: SMTPClientConnection, capabilities: SMTPServerCapabilities, relay: String, remoteName: String,
        encrypted: Bool, greeting: SMTPReply, ehloReply: SMTPReply?, timeouts: SMTPClientTimeouts
    ) {
        self.greeting = greeting
        self.ehloReply = ehloReply
        self.encrypted = encrypted
        self.connection = connection
        self.capabilities = capabilities
        self.relay = relay
        self.remoteName = remoteName
        self.timeouts = timeouts
    }

    /// Connects, reads the greeting and greets with EHLO (HELO if EHLO is refused).
    /// - Throws: a reason to try the next host: connection failure, timeout, or a refusing server.
    static func open(
        hostName: String, address: String, port: Int, heloName: String, group: any EventLoopGroup,
        connectTimeout: TimeAmount, timeouts: SMTPClientTimeouts, tls: TLSUse
    ) async throws(SMTPClientError) -> SMTPDeliverySession {
        let connection = try await SMTPClientConnection.connect(
            address: address, port: port, group: group, timeout: connectTimeout)
        let relay = "\(hostName)[\(address)]:\(port)"
        do throws(SMTPClientError) {
            if tls.implicit, let install = tls.install {
                // A route with implicit_tls: TLS from the first byte (port 465 smarthosts).
                try await connection.startTLS(install: install, timeout: timeouts.greeting)
            }
            let greeting = try await connection.reply(timeout: timeouts.greeting)
            guard greeting.code == 220 else {
                throw SMTPClientError(.protocolViolation, "\(relay) greeted with \(ReplyOutcome.text(of: greeting))")
            }
            let (ehloReply, firstCapabilities) = try await hello(connection, heloName: heloName, relay: relay, timeouts: timeouts)
            var capabilities = firstCapabilities
            var encrypted = tls.implicit
            if !encrypted && tls.policy != .none, let install = tls.install {
                if capabilities.startTLS {
                    try await connection.send("STARTTLS")
                    let ready = try await connection.reply(timeout: timeouts.command)
                    if ready.code == 220 {
                        // A failure is `.tlsFailed`: the caller retries in plaintext when opportunistic.
                        try await connection.startTLS(install: install, timeout: timeouts.command)
                        encrypted = true
                        // RFC 3207 §4.2: forget what was learnt before TLS, say EHLO again.
                        capabilities = try await hello(connection, heloName: heloName, relay: relay, timeouts: timeouts).capabilities
                    } else if tls.policy != .opportunistic {
                        throw SMTPClientError(.protocolViolation, "\(relay) refused STARTTLS: \(ReplyOutcome.text(of: ready))")
                    }
                } else if tls.policy != .opportunistic {
                    throw SMTPClientError(.protocolViolation, "\(relay) does not offer STARTTLS, which the TLS policy requires")
                }
            }
            return SMTPDeliverySession(
                connection: connection, capabilities: capabilities, relay: relay, remoteName: hostName,
                encrypted: encrypted, greeting: greeting, ehloReply: ehloReply, timeouts: timeouts)
        } catch {
            await connection.close()
            throw error
        }
    }

    /// EHLO, falling back to HELO. - Returns: the EHLO reply (nil after HELO) and what the server offers.
    private static func hello(
        _ connection: SMTPClientConnection, heloName: String, relay: String, timeouts: SMTPClientTimeouts
    ) async throws(SMTPClientError) -> (ehlo: SMTPReply?, capabilities: SMTPServerCapabilities) {
        try await connection.send("EHLO \(heloName)")
        let ehlo = try await connection.reply(timeout: timeouts.command)
        if ehlo.code == 250 { return (ehlo, SMTPServerCapabilities(ehloReply: ehlo)) }
        try await connection.send("HELO \(heloName)")
        let helo = try await connection.reply(timeout: timeouts.command)
        guard helo.code == 250 else {
            throw SMTPClientError(.protocolViolation, "\(relay) refused HELO: \(ReplyOutcome.text(of: helo))")
        }
        return (nil, SMTPServerCapabilities())
    }

    /// Sends one message to `recipients`; the end of an earlier message held back on this
    /// connection goes out first, in the same write as this message's commands.
    ///
    /// RFC 2920 §3.1 lets message text start a pipelined group, so with PIPELINING the final
    /// dot of one message and MAIL, RCPT and DATA of the next travel together and their replies
    /// come back together: one round trip per message on a reused connection instead of two.
    /// - Parameters:
    ///   - previous: an end held back by the last call, or nil.
    ///   - hold: keep this message's end back for the next call (or `finish`) when the server
    ///     pipelines; otherwise it is sent and its reply read now.
    /// - Returns: what became of the previous message (nil when there was none), and this one's
    ///   result or its held end.
    func send(message: DueMessage, recipients: [DueRecipient], body: [Data], after previous: HeldEnd?, hold: Bool) async
        -> (previous: TransactionResult?, current: SendResult)
    {
        var previous = previous
        var previousResult: TransactionResult?
        var results: [Int64: (reply: String, outcome: ReplyOutcome)] = [:]
        func settlePrevious() async {
            if let held = previous {
                previousResult = await finish(held)
                previous = nil
            }
        }
        // RFC 6531 §3.4: a message that needs SMTPUTF8 cannot go to a server without it.
        if message.smtputf8 && !capabilities.smtputf8 {
            await settlePrevious()
            let text = "554 5.6.7 \(remoteName) does not support SMTPUTF8"
            for recipient in recipients { results[recipient.id] = (text, .bounced(status: "5.6.7")) }
            return (previousResult, .finished(.completed(results, reusable: true)))
        }
        if let limit = capabilities.size, limit > 0, message.size > limit {
            await settlePrevious()
            let text = "552 5.3.4 message size \(message.size) exceeds the limit \(limit) of \(remoteName)"
            for recipient in recipients { results[recipient.id] = (text, .bounced(status: "5.3.4")) }
            return (previousResult, .finished(.completed(results, reusable: true)))
        }
        if !capabilities.pipelining { await settlePrevious() }
        do throws(SMTPClientError) {
            var mail = "MAIL FROM:<\(message.sender)>"
            if capabilities.size != nil { mail += " SIZE=\(message.size)" }
            if message.bodyType == "8BITMIME" && capabilities.eightBitMIME { mail += " BODY=8BITMIME" }
            if message.smtputf8 { mail += " SMTPUTF8" }
            if capabilities.dsn {
                if let ret = message.dsnReturn { mail += " RET=\(ret)" }
                if let envid = message.dsnEnvelopeID { mail += " ENVID=\(XText.encode(envid))" }
            }
            let rcptLines = recipients.map { recipient -> String in
                var line = "RCPT TO:<\(recipient.address)>"
                if capabilities.dsn {
                    if let notify = recipient.notify { line += " NOTIFY=\(notify)" }
                    if let orcpt = recipient.originalRecipient, let semicolon = orcpt.firstIndex(of: ";") {
                        line += " ORCPT=\(orcpt[..<semicolon]);\(XText.encode(String(orcpt[orcpt.index(after: semicolon)...])))"
                    }
                }
                return line
            }
            // RFC 2920: with PIPELINING, MAIL, every RCPT and DATA go in one write (after the
            // held end of the previous message, if any), and the replies come back in one read;
            // without it, one command at a time.
            let mailReply: SMTPReply
            var rcptReplies: [SMTPReply] = []
            var dataReply: SMTPReply?
            if capabilities.pipelining {
                var group = previous?.text ?? ByteBuffer()
                group.writeString(([mail] + rcptLines + ["DATA"]).map { $0 + "\r\n" }.joined())
                let carried = previous == nil ? 0 : 1
                let read = await connection.exchangeKeepingReplies(
                    group, replies: carried + recipients.count + 2,
                    timeout: previous == nil ? timeouts.command : max(timeouts.command, timeouts.finalDot))
                if let held = previous {
                    previousResult =
                        read.replies.first.map { held.completed(by: $0) }
                        ?? .replyLost("\(read.error.map { "\($0)" } ?? "no reply") after the end of data")
                    previous = nil
                }
                if let error = read.error { throw error }
                let replies = read.replies.dropFirst(carried)
                mailReply = replies[replies.startIndex]
                rcptReplies = Array(replies.dropFirst().prefix(recipients.count))
                dataReply = replies.last
            } else {
                try await connection.send(mail)
                mailReply = try await connection.reply(timeout: timeouts.command)
                if mailReply.code == 250 {
                    for line in rcptLines {
                        try await connection.send(line)
                        rcptReplies.append(try await connection.reply(timeout: timeouts.command))
                    }
                }
            }
            var accepted: [DueRecipient] = []
            if mailReply.code != 250 {
                for recipient in recipients {
                    results[recipient.id] = (ReplyOutcome.text(of: mailReply), ReplyOutcome(mailReply))
                }
            } else {
                for (recipient, reply) in zip(recipients, rcptReplies) {
                    if reply.code / 100 == 2 {
                        accepted.append(recipient)
                    } else {
                        results[recipient.id] = (ReplyOutcome.text(of: reply), ReplyOutcome(reply))
                    }
                }
            }
            if dataReply == nil && !accepted.isEmpty {
                try await connection.send("DATA")
                dataReply = try await connection.reply(timeout: timeouts.dataInitiation)
            }
            guard let dataReply, dataReply.code == 354 else {
                if let dataReply {
                    for recipient in accepted {
                        results[recipient.id] = (ReplyOutcome.text(of: dataReply), ReplyOutcome(dataReply))
                    }
                }
                return (previousResult, .finished(try await reset(results)))
            }
            guard !accepted.isEmpty else {
                // A server that says 354 with no recipient accepted gets an empty message ended
                // at once, and nothing is counted as delivered.
                _ = try await connection.exchange(ByteBuffer(string: ".\r\n"), replies: 1, timeout: timeouts.finalDot)
                return (previousResult, .finished(try await reset(results)))
            }
            var stuffer = SMTPDotStuffer()
            var text = ByteBuffer()
            for chunk in body {
                stuffer.encode(ByteBuffer(bytes: chunk), into: &text)
                if text.readableBytes >= Self.writeSize {
                    try await connection.write(text, timeout: timeouts.finalDot)
                    text.clear()
                }
            }
            stuffer.finish(into: &text)
            let end = HeldEnd(text: text, accepted: accepted, results: results)
            if hold && capabilities.pipelining { return (previousResult, .held(end)) }
            return (previousResult, .finished(await finish(end)))
        } catch {
            // Whatever was held before is settled above: the failed exchange read its reply or lost it.
            if let held = previous { previousResult = await finish(held) }
            return (previousResult, .finished(.connectionFailed(error.description)))
        }
    }

    /// Sends a held end and reads its reply.
    func finish(_ end: HeldEnd) async -> TransactionResult {
        do {
            let final = try await connection.exchange(end.text, replies: 1, timeout: timeouts.finalDot)[0]
            return end.completed(by: final)
        } catch {
            return .replyLost("\(error) after the end of data")
        }
    }

    /// Message text is written in pieces of about this size; a small message goes out with
    /// its final dot in one write.
    static let writeSize = 256 * 1024

    /// Ends a failed transaction with RSET so the connection can carry the next one.
    private func reset(_ results: [Int64: (reply: String, outcome: ReplyOutcome)]) async throws(SMTPClientError)
        -> TransactionResult
    {
        try await connection.send("RSET")
        let reply = try await connection.reply(timeout: timeouts.command)
        return .completed(results, reusable: reply.code == 250)
    }

    /// Says QUIT and closes.
    func quit() async {
        if connection.isActive {
            try? await connection.send("QUIT")
            _ = try? await connection.reply(timeout: .seconds(5))
        }
        await connection.close()
    }
}
