/// What the driver of an `SMTPServerSession` must do next.
public enum SMTPServerAction: Sendable, Hashable {
    /// Nothing to do.
    case none
    /// Send the reply; the session goes on.
    case send(SMTPReply)
    /// Send the replies, then close the connection.
    case sendAndClose([SMTPReply])
    /// Send the `354`, then read the message text (dot-stuffed) for the envelope so far and
    /// report `dataEnded`.
    case startData(SMTPReply, SMTPEnvelope)
    /// Read a BDAT chunk of `size` octets into the message for the envelope so far and report
    /// `chunkReceived`.
    case receiveChunk(size: Int, last: Bool, SMTPEnvelope)
    /// Read and drop a BDAT chunk of `size` octets (RFC 3030 §2: a refused chunk is still
    /// read), then send `reply`.
    case discardChunk(size: Int, reply: SMTPReply)
    /// Drop the message text received so far and send the reply.
    case abortMessage(SMTPReply)
    /// Commit the message durably, then report `commitSucceeded` or `commitFailed`.
    case commit(SMTPEnvelope)
    /// Send the `220` in plaintext, drop any input already buffered (RFC 3207 §4.2: pipelined
    /// plaintext after STARTTLS must not be acted on), start the TLS handshake, and report
    /// `tlsHandshakeCompleted`.
    case startTLS(SMTPReply)
    /// Check the credentials (off the event loop: crypt(3) is slow on purpose), then report
    /// `credentialsChecked`. The password must not be logged.
    case verifyCredentials(user: String, password: String)
}
