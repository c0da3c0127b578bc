/// What the driver of an `SMTPServerSession` must do next.
public enum SMTPServerAction: Sendable, Hashable {
    /// Nothing to do.
    case none
    /// Send the reply; the session goes on.
    case send(SMTPReply)
    /// Send the replies, then close the connection.
    case sendAndClose([SMTPReply])
    /// Send the `354`, begin a message for the envelope so far, read its text (dot-stuffed)
    /// into it and report `dataEnded`.
    case startData(SMTPReply, SMTPEnvelope)
    /// Read a BDAT chunk of `size` octets and report `chunkReceived`. With `beginsMessage` (the
    /// transaction's first chunk) a message for the envelope so far begins first; otherwise the
    /// chunk is appended to the message the earlier chunks began.
    case receiveChunk(size: Int, last: Bool, SMTPEnvelope, beginsMessage: Bool)
    /// Read and drop a BDAT chunk of `size` octets (RFC 3030 §2: a refused chunk is still
    /// read), then send `reply`.
    case discardChunk(size: Int, reply: SMTPReply)
    /// The message was refused: drop the text received so far and send the reply.
    case abortMessage(SMTPReply)
    /// The transaction was reset (RSET, HELO/EHLO) while BDAT chunks were in: drop the text
    /// received so far, which is no refusal, and send the reply.
    case discardMessage(SMTPReply)
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
