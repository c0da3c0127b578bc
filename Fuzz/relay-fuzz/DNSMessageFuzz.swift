import RelayDNS

/// `DNSMessage(parsing:)` on any answer a resolver (or an attacker racing it) may send.
enum DNSMessageFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let message = try? DNSMessage(parsing: bytes) else { return }
        for record in message.answers + message.authority {
            _ = DNSMessage.canonical(record.name)
            invariant(record.name.utf8.count <= 1024, "a name of \(record.name.utf8.count) octets")
        }
    }
}
