import SMTPCore

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
        header += "; \(RFC5322Date.string(time))\r\n"
        return header
    }
}
