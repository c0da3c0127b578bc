import Foundation
import Logging
import NIOCore
import SMTPCore
import SMTPServer
import Spool

/// Sends a session's messages to the spool: each message gets its queue id and `Received:`
/// header when it begins, its text is buffered with bounded memory, and the commit goes
/// through the spool's group-commit writer.
final class SpoolMessageSink: SMTPMessageSink, Sendable {
    private let spool: Spool
    private let hostname: String
    private let allocator: ByteBufferAllocator
    private let logger: Logger
    private let onCommitted: @Sendable () -> Void

    init(spool: Spool, hostname: String, allocator: ByteBufferAllocator, logger: Logger, onCommitted: @escaping @Sendable () -> Void) {
        self.spool = spool
        self.hostname = hostname
        self.allocator = allocator
        self.logger = logger
        self.onCommitted = onCommitted
    }

    func beginMessage(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> any SMTPMessageWriter {
        let queueID = spool.makeQueueID()
        let arrival = Date().timeIntervalSince1970
        let buffer = spool.makeBodyBuffer(queueID: queueID, allocator: allocator)
        // RFC 3848: ESMTP, ESMTPS (TLS), ESMTPA (AUTH), ESMTPSA (both).
        let protocolName = (envelope.extended ? "ESMTP" : "SMTP") + (session.tls == nil ? "" : "S")
            + (session.authUser == nil ? "" : "A")
        // The reverse lookup started with the session; if it has not finished, `unknown`.
        let client = MessageClient(
            sessionID: session.sessionID, address: session.clientAddress, port: session.clientPort,
            name: session.clientName.name,
            heloName: envelope.heloName, protocolName: protocolName, tlsVersion: session.tls?.version,
            tlsCipher: session.tls?.cipher, authUser: session.authUser)
        let received = ReceivedHeader(
            heloName: envelope.heloName, clientName: client.name, clientAddress: client.address, hostname: hostname,
            protocolName: protocolName, queueID: queueID, tls: session.tls,
            recipient: envelope.recipients.count == 1 ? envelope.recipients[0].mailbox.description : nil, time: arrival)
        var header = allocator.buffer(capacity: 256)
        header.writeString(received.text)
        buffer.append(header)
        return SpoolMessageWriter(
            spool: spool, queueID: queueID, arrival: arrival, client: client, buffer: buffer, logger: logger,
            onCommitted: onCommitted)
    }
}

/// The text of one message on its way to the spool.
final class SpoolMessageWriter: SMTPMessageWriter {
    private let spool: Spool
    private let queueID: String
    private let arrival: Double
    private let client: MessageClient
    private var buffer: MessageBodyBuffer?
    private let logger: Logger
    private let onCommitted: @Sendable () -> Void

    init(
        spool: Spool, queueID: String, arrival: Double, client: MessageClient, buffer: MessageBodyBuffer,
        logger: Logger, onCommitted: @escaping @Sendable () -> Void
    ) {
        self.spool = spool
        self.queueID = queueID
        self.arrival = arrival
        self.client = client
        self.buffer = buffer
        self.logger = logger
        self.onCommitted = onCommitted
    }

    func write(_ bytes: ByteBuffer) {
        buffer?.append(bytes)
        if head.count < HeaderFields.headLimit {
            head += bytes.readableBytesView.prefix(HeaderFields.headLimit - head.count)
        }
    }

    /// The start of the client's text, for the `message-id` of the log line.
    private var head: [UInt8] = []

    func abort() {
        buffer = nil  // its deinit removes any spill file
    }

    func commit(envelope: SMTPEnvelope, completion: @escaping @Sendable (Result<String, any Error>) -> Void) {
        guard let buffer else { preconditionFailure("commit after abort") }
        self.buffer = nil
        let body: MessageBody
        do {
            body = try buffer.finish()
        } catch {
            completion(.failure(error))
            return
        }
        let message = IncomingMessage(queueID: queueID, arrivalTime: arrival, envelope: envelope, client: client, body: body)
        let logger = logger
        let queueID = queueID
        let client = client
        let onCommitted = onCommitted
        let messageID = HeaderFields.first("Message-ID", in: head)
        spool.commit(message) { result in
            switch result {
            case .success:
                var metadata: Logger.Metadata = [
                    "session": "\(client.sessionID)", "id": "\(queueID)",
                    "from": "<\(envelope.sender?.description ?? "")>", "size": "\(body.size)",
                    "nrcpt": "\(envelope.recipients.count)", "client": "\(client.name)[\(client.address)]",
                ]
                if let messageID { metadata["message-id"] = "\(messageID)" }
                logger.info("queued", metadata: metadata)
                onCommitted()
                completion(.success(queueID))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }
}
