/// The server side of one SMTP session (RFC 5321 §4), as a pure state machine: events in,
/// actions out. It does no I/O, reads no clock and holds no message text — the driver streams
/// the text to storage and tells the machine what the decoder saw.
public struct SMTPServerSession: Sendable {
    /// Policy and limits for one session, fixed when it starts.
    public struct Configuration: Sendable {
        public var hostname: String
        public var maximumMessageSize: Int
        public var maximumRecipients: Int
        /// Protocol errors before `421` and disconnect.
        public var maximumErrors: Int
        /// More `Received:` headers than this on arrival is a mail loop.
        public var maximumHops: Int
        /// The client may relay to any domain (`allow_networks`).
        public var clientMayRelay: Bool
        /// Domains anyone may send to (`accept_domains`).
        public var acceptsDomain: @Sendable (String) -> Bool
        /// Where `<Postmaster>` and `postmaster@hostname` go.
        public var postmaster: Mailbox
        /// `[tls]` is configured: STARTTLS may be offered.
        public var tlsAvailable: Bool
        /// `[auth]` is configured.
        public var authAvailable: Bool
        /// The listener's `require_tls`.
        public var requireTLS: Bool
        /// The listener's `require_auth`.
        public var requireAuth: Bool
        /// Whether storage has this many bytes free (the spool's file system); asked at MAIL.
        public var storageHasRoom: @Sendable (_ bytes: Int) -> Bool

        public init(
            hostname: String, maximumMessageSize: Int, maximumRecipients: Int, maximumErrors: Int,
            maximumHops: Int, clientMayRelay: Bool, acceptsDomain: @escaping @Sendable (String) -> Bool,
            postmaster: Mailbox, tlsAvailable: Bool = false, authAvailable: Bool = false,
            requireTLS: Bool = false, requireAuth: Bool = false,
            storageHasRoom: @escaping @Sendable (_ bytes: Int) -> Bool = { _ in true }
        ) {
            self.storageHasRoom = storageHasRoom
            self.hostname = hostname
            self.maximumMessageSize = maximumMessageSize
            self.maximumRecipients = maximumRecipients
            self.maximumErrors = maximumErrors
            self.maximumHops = maximumHops
            self.clientMayRelay = clientMayRelay
            self.acceptsDomain = acceptsDomain
            self.postmaster = postmaster
            self.tlsAvailable = tlsAvailable
            self.authAvailable = authAvailable
            self.requireTLS = requireTLS
            self.requireAuth = requireAuth
        }
    }

    /// The greeting the client gave.
    struct Hello: Sendable {
        var name: String
        var extended: Bool
    }

    /// An open mail transaction (RFC 5321 §3.3).
    struct Transaction: Sendable {
        var sender: Mailbox?
        var parameters: MailParameters
        var recipients: [SMTPRecipient] = []
        /// RCPT commands refused, to tell "no valid recipients" from "no RCPT at all".
        var refusedRecipients = 0
        /// BDAT chunks were accepted; DATA may no longer be used (RFC 3030 §2).
        var chunking = false

        func envelope(_ hello: Hello) -> SMTPEnvelope {
            SMTPEnvelope(
                heloName: hello.name, extended: hello.extended, sender: sender, mailParameters: parameters,
                recipients: recipients)
        }
    }

    enum State: Sendable {
        case awaitingHello
        case ready(Hello)
        case transaction(Hello, Transaction)
        /// Reading message text after `354`.
        case receivingData(Hello, Transaction)
        /// Reading a BDAT chunk.
        case receivingChunk(Hello, Transaction, last: Bool)
        /// Waiting for the commit of a complete message.
        case committing(Hello)
        /// In a SASL exchange (RFC 4954): the next line is a response, not a command.
        case authenticating(Hello, SASLExchange)
        case closed
    }

    public let configuration: Configuration
    var state = State.awaitingHello
    var errors = 0
    /// NOOP, RSET, VRFY and HELP since the last message was queued (`junkCommandLimit`).
    var junkCommands = 0
    private var draining = false
    /// The session runs over TLS (after STARTTLS, or from the start on an smtps listener).
    public private(set) var tlsActive = false
    /// The user who authenticated, if one did (RFC 4954).
    public internal(set) var authenticatedUser: String?
    /// Failed AUTH attempts; the driver delays each 535 by this many seconds.
    public internal(set) var authFailures = 0
    /// Failed AUTH attempts before `421` and disconnect.
    public static let maximumAuthFailures = 3
    private let parser: SMTPCommandParser

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.parser = SMTPCommandParser(maximumMessageSize: configuration.maximumMessageSize)
    }

    /// True while no transaction is open, so a shutdown may close the session at once.
    public var isIdle: Bool {
        switch state {
        case .awaitingHello, .ready, .closed: true
        case .transaction, .receivingData, .receivingChunk, .committing, .authenticating: false
        }
    }

    /// True once the session has ended.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: Events

    /// The connection is open. - Returns: the greeting.
    /// - Parameter clientSpokeFirst: the client sent data before the greeting went out.
    public mutating func connectionEstablished(clientSpokeFirst: Bool = false) -> SMTPServerAction {
        clientSpokeFirst ? .sendAndClose([.talkedBeforeGreeting]) : .send(.greeting(configuration.hostname))
    }

    /// A command line arrived.
    /// - Parameter pipelinedInputFollows: more input is already waiting behind this line.
    public mutating func commandReceived(_ line: SMTPCommandLine, pipelinedInputFollows: Bool) -> SMTPServerAction {
        switch line {
        case .tooLong:
            return error(.commandLineTooLong)
        case .bareLineFeed:
            state = .closed
            return .sendAndClose([.bareLineFeed])
        case .bareCarriageReturn:
            state = .closed
            return .sendAndClose([.bareCarriageReturn])
        case .line(let bytes):
            if case .authenticating(let hello, let exchange) = state {
                return saslResponse(bytes, hello: hello, exchange: exchange)
            }
            let command: SMTPCommand
            do {
                command = try parser.parse(bytes, transactionUTF8: transactionUTF8)
            } catch {
                return self.error(error.reply)
            }
            return commandReceived(command, pipelinedInputFollows: pipelinedInputFollows)
        }
    }

    private var transactionUTF8: Bool {
        if case .transaction(_, let transaction) = state { return transaction.parameters.smtputf8 }
        return false
    }

    /// A parsed command arrived.
    public mutating func commandReceived(_ command: SMTPCommand, pipelinedInputFollows: Bool) -> SMTPServerAction {
        switch command {
        case .ehlo(let name):
            return hello(Hello(name: name, extended: true))
        case .helo(let name):
            return hello(Hello(name: name, extended: false))
        case .mail(let sender, let parameters):
            return mail(sender: sender, parameters: parameters)
        case .rcpt(let mailbox, let parameters):
            return recipient(mailbox, parameters: parameters)
        case .data:
            return data(pipelinedInputFollows: pipelinedInputFollows)
        case .bdat(let size, let last):
            return bdat(size: size, last: last)
        case .rset:
            let openMessage = hasOpenMessage
            switch state {
            case .transaction(let hello, _), .ready(let hello): state = .ready(hello)
            default: break
            }
            return junk(discardingOpenMessage(openMessage, idle(.ok)))
        case .noop:
            return junk(.send(.ok))
        case .quit:
            state = .closed
            return .sendAndClose([.bye(configuration.hostname)])
        case .vrfy:
            if let refusal = tlsRequiredRefusal() { return error(refusal) }
            return junk(.send(.verifyNotSupported))
        case .expn:
            return error(.notImplemented)
        case .help:
            return junk(.send(.help))
        case .starttls:
            return startTLS()
        case .auth(let mechanism, let initialResponse):
            return auth(mechanism: mechanism, initialResponse: initialResponse)
        }
    }

    /// The message text after `354` has ended (`CRLF.CRLF` read).
    public mutating func dataEnded(_ summary: SMTPDataDecoder.Summary) -> SMTPServerAction {
        guard case .receivingData(let hello, let transaction) = state else {
            preconditionFailure("dataEnded outside DATA")
        }
        return messageComplete(hello, transaction, summary)
    }

    /// A BDAT chunk has been read. - Parameter summary: what the decoder saw so far.
    public mutating func chunkReceived(_ summary: SMTPDataDecoder.Summary) -> SMTPServerAction {
        guard case .receivingChunk(let hello, var transaction, let last) = state else {
            preconditionFailure("chunkReceived outside BDAT")
        }
        if last { return messageComplete(hello, transaction, summary) }
        transaction.chunking = true
        state = .transaction(hello, transaction)
        if summary.size > configuration.maximumMessageSize {
            // RFC 3030 §2: the transaction is dropped; the rest of the chunks get 503.
            state = .ready(hello)
            if draining {
                state = .closed
                return .sendAndClose([.messageTooBig, .shuttingDown(configuration.hostname)])
            }
            return .abortMessage(.messageTooBig)
        }
        return .send(SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "Ok: \(summary.size) octets received"))
    }

    /// The message was committed durably.
    public mutating func commitSucceeded(queueID: String) -> SMTPServerAction {
        guard case .committing(let hello) = state else { preconditionFailure("commitSucceeded outside commit") }
        state = .ready(hello)
        junkCommands = 0  // a client that delivers mail is doing real work (RSET between messages)
        if draining {
            state = .closed
            return .sendAndClose([.queued(queueID), .shuttingDown(configuration.hostname)])
        }
        return .send(.queued(queueID))
    }

    /// The commit failed: nothing of the message was kept.
    public mutating func commitFailed() -> SMTPServerAction {
        guard case .committing(let hello) = state else { preconditionFailure("commitFailed outside commit") }
        state = .ready(hello)
        if draining {
            state = .closed
            return .sendAndClose([.storageFailure, .shuttingDown(configuration.hostname)])
        }
        return .send(.storageFailure)
    }

    /// The TLS handshake finished: the session starts over, as RFC 3207 §4.2 requires.
    public mutating func tlsHandshakeCompleted() {
        tlsActive = true
        if case .closed = state { return }
        state = .awaitingHello
    }

    /// The command or data timeout expired.
    public mutating func timedOut() -> SMTPServerAction {
        state = .closed
        return .sendAndClose([.timeout(configuration.hostname)])
    }

    /// The server is shutting down: close now if idle, else after the transaction.
    public mutating func shutdownRequested() -> SMTPServerAction {
        draining = true
        guard isIdle, !isClosed else { return .none }
        state = .closed
        return .sendAndClose([.shuttingDown(configuration.hostname)])
    }

    /// The shutdown timeout expired with a transaction still open.
    public mutating func shutdownTimedOut() -> SMTPServerAction {
        guard !isClosed else { return .none }
        state = .closed
        return .sendAndClose([.shuttingDown(configuration.hostname)])
    }

    // MARK: Commands

    /// A transaction whose BDAT chunks began a message that is not yet complete.
    private var hasOpenMessage: Bool {
        if case .transaction(_, let transaction) = state { return transaction.chunking }
        return false
    }

    /// `action`, but first the open message is dropped when `openMessage` (the reset ended a
    /// transaction whose chunks had begun one). A closing action drops it with the connection.
    private func discardingOpenMessage(_ openMessage: Bool, _ action: SMTPServerAction) -> SMTPServerAction {
        guard openMessage, case .send(let reply) = action else { return action }
        return .discardMessage(reply)
    }

    private mutating func hello(_ hello: Hello) -> SMTPServerAction {
        let openMessage = hasOpenMessage
        return discardingOpenMessage(openMessage, greeted(hello))
    }

    private mutating func greeted(_ hello: Hello) -> SMTPServerAction {
        switch state {
        case .awaitingHello, .ready, .transaction:
            // RFC 5321 §4.1.4: EHLO in a transaction resets it.
            state = .ready(hello)
        case .receivingData, .receivingChunk, .committing, .authenticating, .closed:
            preconditionFailure("command while reading message text")
        }
        guard hello.extended else {
            return idle(SMTPReply(code: 250, nil, configuration.hostname))
        }
        var lines = [
            configuration.hostname,
            "PIPELINING",
            "SIZE \(configuration.maximumMessageSize)",
            "8BITMIME",
            "SMTPUTF8",
            "ENHANCEDSTATUSCODES",
            "CHUNKING",
            "DSN",
        ]
        if configuration.tlsAvailable && !tlsActive { lines.append("STARTTLS") }
        // RFC 4954 §4 and SPEC: AUTH only over TLS.
        if configuration.authAvailable && tlsActive && authenticatedUser == nil { lines.append("AUTH PLAIN LOGIN") }
        lines.append("HELP")
        return idle(SMTPReply(code: 250, nil, lines))
    }

    /// Replies to a command that leaves no transaction open; while draining, the session then
    /// ends as an idle one would have at the shutdown.
    private mutating func idle(_ reply: SMTPReply) -> SMTPServerAction {
        guard draining else { return .send(reply) }
        state = .closed
        return .sendAndClose([reply, .shuttingDown(configuration.hostname)])
    }

    func tlsRequiredRefusal() -> SMTPReply? {
        // RFC 3207 §4: before TLS only EHLO, HELO, STARTTLS, NOOP and QUIT (and RSET, HELP) are allowed.
        configuration.requireTLS && !tlsActive
            ? SMTPReply(code: 530, EnhancedStatusCode(5, 7, 0), "Must issue a STARTTLS command first") : nil
    }

    private mutating func mail(sender: Mailbox?, parameters: MailParameters) -> SMTPServerAction {
        if let refusal = tlsRequiredRefusal() { return error(refusal) }
        switch state {
        case .awaitingHello:
            return error(.badSequence("send HELO/EHLO first"))
        case .transaction:
            return error(.badSequence("nested MAIL command"))
        case .ready(let hello):
            if configuration.requireAuth && authenticatedUser == nil {
                return error(SMTPReply(code: 530, EnhancedStatusCode(5, 7, 0), "Authentication required"))
            }
            // Postfix's rule (queue_minfree): room for 1.5 times the largest message this one may
            // be, so the client hears 452 now, not after sending all of it.
            let largest = max(configuration.maximumMessageSize, parameters.size ?? 0)
            guard configuration.storageHasRoom(largest + largest / 2) else { return .send(.storageFailure) }
            state = .transaction(hello, Transaction(sender: sender, parameters: parameters))
            return .send(.senderOK)
        case .receivingData, .receivingChunk, .committing, .authenticating, .closed:
            preconditionFailure("command while reading message text")
        }
    }

    private mutating func recipient(_ mailbox: Mailbox, parameters: RecipientParameters) -> SMTPServerAction {
        if let refusal = tlsRequiredRefusal() { return error(refusal) }
        guard case .transaction(let hello, var transaction) = state else {
            return error(.badSequence("need MAIL command"))
        }
        guard transaction.recipients.count < configuration.maximumRecipients else {
            // RFC 5321 §4.5.3.1.10: too many recipients is a temporary failure, not counted as an error.
            return .send(.tooManyRecipients)
        }
        var accepted = mailbox
        if mailbox.isBarePostmaster || isLocalPostmaster(mailbox) {
            accepted = configuration.postmaster
        } else if !configuration.clientMayRelay && authenticatedUser == nil
            && (!configuration.acceptsDomain(mailbox.domain) || mailbox.hasSenderSpecifiedRouting)
        {
            transaction.refusedRecipients += 1
            state = .transaction(hello, transaction)
            return error(.relayDenied)
        }
        var kept = parameters
        if accepted != mailbox && kept.originalRecipient == nil {
            // Keep the address the client gave, for DSNs (RFC 3461 §4.2).
            kept.originalRecipient = "rfc822;\(mailbox)"
        }
        transaction.recipients.append(SMTPRecipient(mailbox: accepted, parameters: kept))
        state = .transaction(hello, transaction)
        return .send(.recipientOK)
    }

    private func isLocalPostmaster(_ mailbox: Mailbox) -> Bool {
        mailbox.localPart.lowercased() == "postmaster" && mailbox.domain.lowercased() == configuration.hostname.lowercased()
    }

    private mutating func data(pipelinedInputFollows: Bool) -> SMTPServerAction {
        if let refusal = tlsRequiredRefusal() { return error(refusal) }
        guard case .transaction(let hello, let transaction) = state else {
            if case .awaitingHello = state { return error(.badSequence("send HELO/EHLO first")) }
            return error(.badSequence("need MAIL command"))
        }
        guard !transaction.chunking else { return error(.badSequence("DATA after BDAT")) }
        guard !transaction.recipients.isEmpty else {
            if transaction.refusedRecipients > 0 {
                return error(SMTPReply(code: 554, EnhancedStatusCode(5, 5, 1), "Error: no valid recipients"))
            }
            return error(.badSequence("need RCPT command"))
        }
        if pipelinedInputFollows {
            // RFC 2920 §3.1: DATA ends a pipelined group; text before the 354 is stuffing.
            state = .closed
            return .sendAndClose([.transactionStuffing])
        }
        state = .receivingData(hello, transaction)
        return .startData(.startMailInput, transaction.envelope(hello))
    }

    private mutating func startTLS() -> SMTPServerAction {
        guard configuration.tlsAvailable else { return error(.notImplemented) }
        guard !tlsActive else { return error(.badSequence("TLS already active")) }
        switch state {
        case .transaction:
            return error(.badSequence("MAIL transaction in progress"))
        case .awaitingHello, .ready:
            // RFC 3207 §4.2: everything known before TLS is forgotten.
            state = .awaitingHello
            return .startTLS(SMTPReply(code: 220, EnhancedStatusCode(2, 0, 0), "Ready to start TLS"))
        case .receivingData, .receivingChunk, .committing, .authenticating, .closed:
            preconditionFailure("command while reading message text")
        }
    }

    private mutating func messageComplete(
        _ hello: Hello, _ transaction: Transaction, _ summary: SMTPDataDecoder.Summary
    ) -> SMTPServerAction {
        state = .ready(hello)
        let refusal: SMTPReply?
        if summary.size > configuration.maximumMessageSize {
            refusal = .messageTooBig
        } else if summary.bareCarriageReturn {
            refusal = .bareCarriageReturn
        } else if summary.bareLineFeed {
            // Only reachable under "reject": under "normalize" the decoder rewrote bare LFs.
            refusal = .bareLineFeed
        } else if summary.nul {
            refusal = .nulInText
        } else if summary.lineTooLong {
            refusal = .textLineTooLong
        } else if summary.receivedHeaders > configuration.maximumHops {
            refusal = .mailLoop
        } else {
            refusal = nil
        }
        if let refusal {
            if draining {
                state = .closed
                return .sendAndClose([refusal, .shuttingDown(configuration.hostname)])
            }
            return .abortMessage(refusal)
        }
        state = .committing(hello)
        return .commit(transaction.envelope(hello))
    }

    /// NOOP, RSET, VRFY and HELP a session may send between two queued messages before each
    /// further one counts as an error (Postfix's `smtpd_junk_command_limit`): otherwise a client could hold its connection
    /// slot for ever with a NOOP every few minutes (issue 13, hole 4).
    public static let junkCommandLimit = 100

    /// Answers a junk command, counting it; past the limit it counts as an error too.
    mutating func junk(_ action: SMTPServerAction) -> SMTPServerAction {
        junkCommands += 1
        guard junkCommands > Self.junkCommandLimit, case .send(let reply) = action else { return action }
        return error(reply)
    }

    /// Counts a protocol error; too many end the session.
    mutating func error(_ reply: SMTPReply) -> SMTPServerAction {
        errors += 1
        if errors >= configuration.maximumErrors {
            state = .closed
            return .sendAndClose([reply, .tooManyErrors(configuration.hostname)])
        }
        return .send(reply)
    }
}
