/// What the driver's log lines say about a session (`event=reject`: helo, from), read from the
/// machine's state rather than kept as a second copy in the driver.
extension SMTPServerSession {
    /// The name the client greeted with (HELO/EHLO), once it has: for log lines.
    public var heloName: String? {
        switch state {
        case .ready(let hello), .transaction(let hello, _), .receivingData(let hello, _), .receivingChunk(let hello, _, _),
            .committing(let hello), .authenticating(let hello, _):
            hello.name
        case .awaitingHello, .closed:
            nil
        }
    }

    /// The open transaction's reverse-path as the log writes it (`<a@b.example>`, `<>`), or nil
    /// outside a transaction.
    public var transactionSender: String? {
        switch state {
        case .transaction(_, let transaction), .receivingData(_, let transaction), .receivingChunk(_, let transaction, _):
            "<\(transaction.sender?.description ?? "")>"
        default:
            nil
        }
    }
}
