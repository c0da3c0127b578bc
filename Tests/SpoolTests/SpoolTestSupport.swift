import Foundation
import NIOCore
import SMTPCore
import Spool

/// A fresh spool directory under the system temporary folder, removed by `remove()`.
struct TemporarySpoolDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "relay-spool-test-" + UUID().uuidString
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func makeMessage(
    spool: Spool, queueID: String? = nil, text: String = "Subject: t\r\n\r\nbody\r\n",
    recipients: [String] = ["b@example.com"]
) -> IncomingMessage {
    let id = queueID ?? spool.makeQueueID()
    let buffer = spool.makeBodyBuffer(queueID: id, allocator: ByteBufferAllocator())
    buffer.append(ByteBuffer(string: text))
    var parameters = MailParameters()
    parameters.body = .eightBitMIME
    let envelope = SMTPEnvelope(
        heloName: "client.example", extended: true, sender: Mailbox(localPart: "a", domain: "example.org"),
        mailParameters: parameters,
        recipients: recipients.map { address in
            let at = address.firstIndex(of: "@")!
            return SMTPRecipient(
                mailbox: Mailbox(localPart: String(address[..<at]), domain: String(address[address.index(after: at)...])))
        })
    let client = MessageClient(
        sessionID: "S1", address: "127.0.0.1", port: 4000, name: "unknown", heloName: "client.example",
        protocolName: "ESMTP")
    // A body buffer that never failed always finishes.
    return IncomingMessage(queueID: id, arrivalTime: 1_764_000_000, envelope: envelope, client: client, body: try! buffer.finish())
}
