import Foundation

/// The `Received:` trace field Relay prepends (RFC 5321 §4.4), folded as Postfix folds it.
struct ReceivedHeader {
    var heloName: String
    /// Forward-confirmed reverse name, or `unknown`.
    var clientName: String
    var clientAddress: String
    var hostname: String
    /// RFC 3848 protocol name.
    var protocolName: String
    var queueID: String
    var tls: (version: String, cipher: String)?
    /// Named only when the message has a single recipient (RFC 5321 §4.4: privacy).
    var recipient: String?
    /// Unix seconds.
    var time: Double

    var text: String {
        let addressLiteral = clientAddress.contains(":") ? "IPv6:\(clientAddress)" : clientAddress
        var header = "Received: from \(heloName) (\(clientName) [\(addressLiteral)])\r\n"
        if let tls {
            header += "\t(using \(tls.version) with cipher \(tls.cipher))\r\n"
        }
        header += "\tby \(hostname) (Relay) with \(protocolName) id \(queueID)"
        if let recipient {
            header += "\r\n\tfor <\(recipient)>"
        }
        header += "; \(Self.rfc5322Date(time))\r\n"
        return header
    }

    /// RFC 5322 §3.3 date-time in UTC, without locale (and without `String(format:)`, which
    /// costs more than the rest of the header).
    static func rfc5322Date(_ time: Double) -> String {
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        var seconds = time_t(time)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(days[Int(parts.tm_wday)]), \(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) +0000"
    }
}
