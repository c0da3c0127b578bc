import Foundation
import SMTPCore

/// Builds RFC 3464 delivery status notifications: `multipart/report;
/// report-type=delivery-status` with a human-readable part, the `message/delivery-status` part,
/// and the original message (RET=FULL, up to `maximumReturnedSize`) or its headers.
public struct DeliveryStatusNotification: Sendable {
    /// One recipient the report is about.
    public struct Recipient: Sendable, Hashable {
        public var address: String
        /// RFC 3461 ORCPT as `addr-type;address`.
        public var originalRecipient: String?
        /// failed | delayed
        public var action: String
        public var status: String
        /// The last reply, or a description of why there was none.
        public var diagnostic: String
        /// The server that gave the reply, if one did.
        public var remoteMTA: String?
        public var lastAttempt: Double?

        public init(
            address: String, originalRecipient: String?, action: String, status: String, diagnostic: String,
            remoteMTA: String?, lastAttempt: Double?
        ) {
            self.address = address
            self.originalRecipient = originalRecipient
            self.action = action
            self.status = status
            self.diagnostic = diagnostic
            self.remoteMTA = remoteMTA
            self.lastAttempt = lastAttempt
        }
    }

    /// SPEC: the original message up to 50 KB with RET=FULL, else its headers only.
    public static let maximumReturnedSize = 50_000

    public var reportingMTA: String
    public var queueID: String
    public var sender: String
    public var arrivalTime: Double
    public var envelopeID: String?
    public var returnFullMessage: Bool
    public var recipients: [Recipient]
    /// The stored message text (with Relay's Received: line).
    public var originalMessage: [UInt8]

    public init(
        reportingMTA: String, queueID: String, sender: String, arrivalTime: Double, envelopeID: String?,
        returnFullMessage: Bool, recipients: [Recipient], originalMessage: [UInt8]
    ) {
        self.reportingMTA = reportingMTA
        self.queueID = queueID
        self.sender = sender
        self.arrivalTime = arrivalTime
        self.envelopeID = envelopeID
        self.returnFullMessage = returnFullMessage
        self.recipients = recipients
        self.originalMessage = originalMessage
    }

    /// The whole DSN message, CRLF line endings.
    /// - Parameters:
    ///   - now: the report's date.
    ///   - boundary: the MIME boundary (random in production).
    public func render(now: Double, boundary: String, messageID: String) -> [UInt8] {
        let delayed = recipients.allSatisfy { $0.action == "delayed" }
        var out = ""
        out += "From: Mail Delivery System <MAILER-DAEMON@\(reportingMTA)>\r\n"
        out += "To: <\(sender)>\r\n"
        out += delayed
            ? "Subject: Delayed Mail (still being retried)\r\n" : "Subject: Undelivered Mail Returned to Sender\r\n"
        out += "Date: \(Self.date(now))\r\n"
        out += "Message-ID: <\(messageID)>\r\n"
        out += "Auto-Submitted: auto-replied\r\n"
        out += "MIME-Version: 1.0\r\n"
        out += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"\(boundary)\"\r\n"
        out += "\r\n"
        out += "This is a MIME-encapsulated message.\r\n\r\n"

        out += "--\(boundary)\r\n"
        out += "Content-Description: Notification\r\n"
        out += "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        out += "This is the mail system at host \(reportingMTA).\r\n\r\n"
        if delayed {
            out += "Your message (queue id \(queueID)) could not be delivered yet. The mail system\r\n"
            out += "will keep trying; you do not need to send it again.\r\n\r\n"
        } else {
            out += "I'm sorry to have to inform you that your message (queue id \(queueID)) could\r\n"
            out += "not be delivered to one or more recipients.\r\n\r\n"
        }
        for recipient in recipients {
            out += "<\(Self.printable(recipient.address))>: \(Self.printable(recipient.diagnostic))\r\n"
        }
        out += "\r\n"

        out += "--\(boundary)\r\n"
        out += "Content-Description: Delivery report\r\n"
        out += "Content-Type: message/delivery-status\r\n\r\n"
        out += "Reporting-MTA: dns; \(reportingMTA)\r\n"
        out += "X-Relay-Queue-ID: \(queueID)\r\n"
        if let envelopeID { out += Self.field("Original-Envelope-Id", envelopeID) }
        out += "Arrival-Date: \(Self.date(arrivalTime))\r\n"
        for recipient in recipients {
            out += "\r\n"
            if let original = recipient.originalRecipient, let semicolon = original.firstIndex(of: ";") {
                out += Self.field(
                    "Original-Recipient", "\(original[..<semicolon]); \(original[original.index(after: semicolon)...])")
            }
            out += Self.field("Final-Recipient", "rfc822; \(recipient.address)")
            out += "Action: \(recipient.action)\r\n"
            out += "Status: \(recipient.status)\r\n"
            if let remote = recipient.remoteMTA { out += Self.field("Remote-MTA", "dns; \(remote)") }
            let diagnosticType = recipient.remoteMTA == nil ? "X-Relay" : "smtp"
            out += Self.field("Diagnostic-Code", "\(diagnosticType); \(recipient.diagnostic)")
            if let last = recipient.lastAttempt { out += "Last-Attempt-Date: \(Self.date(last))\r\n" }
        }
        out += "\r\n"

        let headers = Self.headerSection(of: originalMessage)
        let full = returnFullMessage && originalMessage.count <= Self.maximumReturnedSize
        out += "--\(boundary)\r\n"
        out += full ? "Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n"
            : "Content-Description: Undelivered Message Headers\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        var bytes = Array(out.utf8)
        bytes += full ? originalMessage : headers
        if bytes.suffix(2) != [13, 10] { bytes += [13, 10] }
        bytes += Array("\r\n--\(boundary)--\r\n".utf8)
        return bytes
    }

    /// The header section, through its terminating empty line.
    static func headerSection(of message: [UInt8]) -> [UInt8] {
        let separator: [UInt8] = [13, 10, 13, 10]
        if message.count >= 4 {
            for index in 0...(message.count - 4) where message[index..<(index + 4)].elementsEqual(separator) {
                return Array(message[..<(index + 2)])
            }
        }
        return message
    }

    /// Foreign text (an upstream's reply, a client's ENVID or ORCPT) made safe for one line of
    /// a generated message: CR, LF and tabs become spaces, any other control character, DEL and
    /// anything outside ASCII becomes `?`, and more than `maximumFieldText` characters are cut.
    /// No header can be injected and no line outgrows RFC 5322's 998 octets.
    static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if out.unicodeScalars.count >= maximumFieldText {
                out += "..."
                break
            }
            switch scalar.value {
            case 0x20...0x7E: out.unicodeScalars.append(scalar)
            case 0x09, 0x0A, 0x0D: out += " "
            default: out += "?"
            }
        }
        return out
    }

    static let maximumFieldText = 900

    /// `Name: value` with the value made printable and folded (RFC 5322 §2.2.3) at spaces so
    /// that lines stay near 78 characters.
    static func field(_ name: String, _ value: String) -> String {
        var out = "\(name):"
        var lineLength = out.count
        for word in printable(value).split(separator: " ", omittingEmptySubsequences: true) {
            if lineLength + 1 + word.count > 78 && lineLength > name.count + 1 {
                out += "\r\n"
                lineLength = 0
            }
            out += " " + word
            lineLength += 1 + word.count
        }
        return out + "\r\n"
    }

    /// RFC 5322 date in UTC.
    public static func date(_ time: Double) -> String { RFC5322Date.string(time) }
}
