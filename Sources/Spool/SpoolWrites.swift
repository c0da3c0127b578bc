import Foundation
import GRDB
import NIOCore
import SMTPCore

/// The statements that store an accepted message.
enum SpoolWrites {
    static func insert(_ message: IncomingMessage, into db: Database) throws {
        let envelope = message.envelope
        let client = message.client
        let parameters = envelope.mailParameters
        // Cached statements: parsing SQL per message costs more than running it.
        try db.cachedStatement(
            sql: """
                INSERT INTO messages (queue_id, arrival_time, sender, size, body_type, smtputf8, dsn_ret, dsn_envid,
                    mail_auth, session_id, client_address, client_port, client_name, helo_name, protocol,
                    tls_version, tls_cipher, auth_user, kind)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(
            arguments: [
                message.queueID, message.arrivalTime, envelope.sender?.description ?? "", message.body.size,
                parameters.body?.rawValue, parameters.smtputf8 ? 1 : 0, parameters.ret?.rawValue,
                parameters.envelopeID, parameters.auth, client.sessionID, client.address, client.port, client.name,
                client.heloName, client.protocolName, client.tlsVersion, client.tlsCipher, client.authUser,
                message.kind,
            ])
        let messageID = db.lastInsertedRowID
        let recipient = try db.cachedStatement(
            sql: """
                INSERT INTO recipients (message_id, address, dsn_notify, dsn_orcpt, state, next_attempt)
                VALUES (?, ?, ?, ?, 'queued', ?)
                """)
        for rcpt in envelope.recipients {
            try recipient.execute(arguments: [
                messageID, rcpt.mailbox.description, rcpt.parameters.notify?.text,
                rcpt.parameters.originalRecipient, message.arrivalTime,
            ])
        }
        let chunk = try db.cachedStatement(sql: "INSERT INTO body_chunks (message_id, seq, data) VALUES (?, ?, ?)")
        var seq = 0
        try forEachChunk(of: message.body) { bytes in
            try chunk.execute(arguments: [messageID, seq, bytes])
            seq += 1
        }
    }

    /// Calls `body` with the message text in chunks of at most `BodyChunking.chunkSize` octets.
    static func forEachChunk(of body: MessageBody, _ handle: (Data) throws -> Void) throws {
        switch body {
        case .memory(var buffer):
            while buffer.readableBytes > 0 {
                let length = min(buffer.readableBytes, BodyChunking.chunkSize)
                let bytes = buffer.withUnsafeReadableBytes { Data(bytes: $0.baseAddress!, count: length) }
                buffer.moveReaderIndex(forwardBy: length)
                try handle(bytes)
            }
        case .file(let path, let size, _):
            guard let handleFile = FileHandle(forReadingAtPath: path) else {
                throw SpoolError.body("cannot open \(path)")
            }
            defer { try? handleFile.close() }
            var remaining = size
            while remaining > 0 {
                guard let bytes = try handleFile.read(upToCount: min(remaining, BodyChunking.chunkSize)),
                    !bytes.isEmpty
                else { throw SpoolError.body("\(path) is shorter than \(size) octets") }
                try handle(bytes)
                remaining -= bytes.count
            }
        }
    }
}
