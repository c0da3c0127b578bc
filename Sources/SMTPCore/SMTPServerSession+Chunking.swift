/// BDAT (RFC 3030): chunks that begin, extend and end a message; a refused chunk is still read.
extension SMTPServerSession {
    mutating func bdat(size: Int, last: Bool) -> SMTPServerAction {
        let refusal: SMTPReply?
        if let tlsRefusal = tlsRequiredRefusal() {
            refusal = tlsRefusal
        } else {
            switch state {
            case .transaction(_, let transaction) where transaction.recipients.isEmpty:
                refusal = .badSequence("need RCPT command")
            case .transaction:
                refusal = nil
            default:
                refusal = .badSequence("need MAIL command")
            }
        }
        if let refusal {
            errors += 1
            if errors >= configuration.maximumErrors {
                state = .closed
                return .sendAndClose([refusal, .tooManyErrors(configuration.hostname)])
            }
            return .discardChunk(size: size, reply: refusal)
        }
        guard case .transaction(let hello, let transaction) = state else { preconditionFailure("checked above") }
        state = .receivingChunk(hello, transaction, last: last)
        return .receiveChunk(size: size, last: last, transaction.envelope(hello), beginsMessage: !transaction.chunking)
    }
}
