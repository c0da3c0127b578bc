import DeliveryCore
import Foundation
import NIOCore
import SMTPCore
import Spool

/// Makes the DSN messages the worker queues: bounces to the sender, and notices to the
/// postmaster about bounces that could not be delivered.
struct BounceFactory: Sendable {
    let hostname: String
    let postmaster: String
    let spool: Spool

    /// A bounce for `recipients` of `message`, or nil when none is owed (null sender, a DSN
    /// itself, or NOTIFY without FAILURE).
    func bounce(for message: DueMessage, recipients: [DeliveryStatusNotification.Recipient], notify: [String: String?],
                body: [UInt8], now: Double) -> IncomingMessage? {
        guard message.kind == "message", !message.sender.isEmpty else { return nil }
        let wanted = recipients.filter { recipient in
            // RFC 3461 §4.1: no NOTIFY means failures are reported; NEVER means nothing is.
            guard let value = notify[recipient.address] ?? nil else { return true }
            return value.contains("FAILURE")
        }
        guard !wanted.isEmpty else { return nil }
        let report = DeliveryStatusNotification(
            reportingMTA: hostname, queueID: message.queueID, sender: message.sender, arrivalTime: message.arrivalTime,
            envelopeID: message.dsnEnvelopeID, returnFullMessage: message.dsnReturn == "FULL", recipients: wanted,
            originalMessage: body)
        return make(kind: "bounce", to: message.sender, report: report, now: now)
    }

    /// A delay warning (RFC 3464 `Action: delayed`) for `recipients` of `message`, or nil when
    /// none is owed: null sender, a DSN itself, or NOTIFY without DELAY (no NOTIFY asks for one).
    func delayWarning(for message: DueMessage, recipients: [DeliveryStatusNotification.Recipient],
                      notify: [String: String?], body: [UInt8], now: Double) -> IncomingMessage? {
        guard message.kind == "message", !message.sender.isEmpty else { return nil }
        let wanted = recipients.filter { recipient in
            guard let value = notify[recipient.address] ?? nil else { return true }
            return value.contains("DELAY")
        }
        guard !wanted.isEmpty else { return nil }
        let report = DeliveryStatusNotification(
            reportingMTA: hostname, queueID: message.queueID, sender: message.sender, arrivalTime: message.arrivalTime,
            envelopeID: message.dsnEnvelopeID, returnFullMessage: false, recipients: wanted, originalMessage: body)
        return make(kind: "bounce", to: message.sender, report: report, now: now)
    }

    /// A notice to the postmaster carrying the headers of a bounce that could not be delivered.
    func notice(for message: DueMessage, recipients: [DeliveryStatusNotification.Recipient], body: [UInt8], now: Double)
        -> IncomingMessage?
    {
        guard message.kind == "bounce" else { return nil }
        let report = DeliveryStatusNotification(
            reportingMTA: hostname, queueID: message.queueID, sender: postmaster, arrivalTime: message.arrivalTime,
            envelopeID: nil, returnFullMessage: false, recipients: recipients, originalMessage: body)
        return make(kind: "notice", to: postmaster, report: report, now: now)
    }

    private func make(kind: String, to address: String, report: DeliveryStatusNotification, now: Double) -> IncomingMessage {
        let queueID = spool.makeQueueID()
        let text = report.render(now: now, boundary: "\(queueID)/\(hostname)", messageID: "\(queueID)@\(hostname)")
        let at = address.lastIndex(of: "@")
        let mailbox = Mailbox(
            localPart: at.map { String(address[..<$0]) } ?? address,
            domain: at.map { String(address[address.index(after: $0)...]) } ?? hostname)
        let envelope = SMTPEnvelope(
            heloName: hostname, extended: true, sender: nil, mailParameters: MailParameters(),
            recipients: [SMTPRecipient(mailbox: mailbox)])
        let client = MessageClient(
            sessionID: "worker", address: "127.0.0.1", port: 0, name: "localhost", heloName: hostname,
            protocolName: "LOCAL")
        return IncomingMessage(
            queueID: queueID, arrivalTime: now, envelope: envelope, client: client,
            body: .memory(ByteBuffer(bytes: text)), kind: kind)
    }
}
