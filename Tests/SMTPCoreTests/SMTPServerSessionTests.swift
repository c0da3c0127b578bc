import NIOCore
import SMTPCore
import Testing

// MARK: - Fixtures

private let hostname = "relay.example.com"
private let alice = Mailbox(localPart: "alice", domain: "sender.example")
private let bob = Mailbox(localPart: "bob", domain: "example.org")
private let carol = Mailbox(localPart: "carol", domain: "example.org")
/// `[relay] postmaster`.
private let hostmaster = Mailbox(localPart: "hostmaster", domain: "example.net")

private func reply(_ code: Int, _ enhanced: (Int, Int, Int)?, _ text: String) -> SMTPReply {
    SMTPReply(code: code, enhanced.map { EnhancedStatusCode($0.0, $0.1, $0.2) }, text)
}

// The replies, spelled out as SPEC.md gives them: code, enhanced code, text.
private let greeting = SMTPReply(code: 220, nil, "relay.example.com ESMTP Relay")
private let ehloReply = SMTPReply(
    code: 250, nil,
    [
        "relay.example.com", "PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
        "DSN",
        "HELP",
    ])

/// The EHLO reply of a listener with `[tls]`, before TLS.
private let ehloReplyWithSTARTTLS = SMTPReply(
    code: 250, nil,
    [
        "relay.example.com", "PIPELINING", "SIZE 10000", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING",
        "DSN", "STARTTLS",
        "HELP",
    ])

private let readyToStartTLS = SMTPReply(code: 220, EnhancedStatusCode(2, 0, 0), "Ready to start TLS")
private let heloReply = SMTPReply(code: 250, nil, "relay.example.com")
private let ok = reply(250, (2, 0, 0), "Ok")
private let senderOK = reply(250, (2, 1, 0), "Ok")
private let recipientOK = reply(250, (2, 1, 5), "Ok")
private let startMailInput = SMTPReply(code: 354, nil, "End data with <CR><LF>.<CR><LF>")
private let bye = reply(221, (2, 0, 0), "relay.example.com closing connection")
private let cannotVerify = reply(252, (2, 0, 0), "Cannot VRFY user, but will accept message and attempt delivery")
private let help = reply(214, (2, 0, 0), "See RFC 5321 and https://www.rfc-editor.org/rfc/rfc5321")
private let notImplemented = reply(502, (5, 5, 1), "Error: command not implemented")
private let authNotEnabled = reply(503, (5, 5, 1), "Error: authentication not enabled")
private let encryptionRequired = reply(538, (5, 7, 11), "Encryption required for requested authentication mechanism")
private let startTLSFirst = reply(530, (5, 7, 0), "Must issue a STARTTLS command first")
private let authenticationRequired = reply(530, (5, 7, 0), "Authentication required")
private let relayDenied = reply(554, (5, 7, 1), "Relay access denied")
private let noValidRecipients = reply(554, (5, 5, 1), "Error: no valid recipients")
private let transactionStuffing = reply(554, (5, 5, 0), "Error: improper command pipelining, closing connection")
private let tooManyRecipients = reply(452, (4, 5, 3), "Too many recipients")
private let tooManyErrors = reply(421, (4, 7, 0), "relay.example.com Error: too many errors")
private let shuttingDown = reply(421, (4, 3, 2), "relay.example.com Service shutting down, closing connection")
private let timeout = reply(421, (4, 4, 2), "relay.example.com Error: timeout exceeded")
private let messageTooBig = reply(552, (5, 3, 4), "Error: message size exceeds fixed limit")
private let mailLoop = reply(554, (5, 4, 6), "Error: too many hops (mail loop)")
private let textLineTooLong = reply(550, (5, 5, 2), "Error: message line too long")
private let bareLineFeed = reply(550, (5, 5, 2), "Error: bare <LF> received; lines must end in <CR><LF>")
private let bareCarriageReturn = reply(550, (5, 5, 2), "Error: bare <CR> received; lines must end in <CR><LF>")
private let commandLineTooLong = reply(500, (5, 5, 2), "Error: line too long")
private let commandUnrecognized = reply(500, (5, 5, 2), "Error: command not recognized")
private let smtputf8Required = reply(553, (5, 6, 7), "Error: must declare SMTPUTF8 to send a non-ASCII address")
private let storageFailure = reply(452, (4, 3, 1), "Insufficient system storage, try again later")
private func badSequence(_ text: String) -> SMTPReply { reply(503, (5, 5, 1), "Error: \(text)") }
private func queued(_ queueID: String) -> SMTPReply { reply(250, (2, 0, 0), "Ok: queued as \(queueID)") }
private func chunkOK(_ octets: Int) -> SMTPReply { reply(250, (2, 0, 0), "Ok: \(octets) octets received") }

/// A session of relay.example.com: SIZE 10000, mail for example.org accepted from anyone.
private func makeSession(
    maximumRecipients: Int = 100, maximumErrors: Int = 10, clientMayRelay: Bool = false,
    postmaster: Mailbox = hostmaster, tlsAvailable: Bool = false, authAvailable: Bool = false,
    requireTLS: Bool = false, requireAuth: Bool = false
) -> SMTPServerSession {
    SMTPServerSession(
        configuration: SMTPServerSession.Configuration(
            hostname: hostname, maximumMessageSize: 10_000, maximumRecipients: maximumRecipients,
            maximumErrors: maximumErrors, maximumHops: 100, clientMayRelay: clientMayRelay,
            acceptsDomain: { $0.lowercased() == "example.org" }, postmaster: postmaster,
            tlsAvailable: tlsAvailable, authAvailable: authAvailable, requireTLS: requireTLS,
            requireAuth: requireAuth))
}

extension SMTPServerSession {
    /// The client sends the command `line` (its CRLF already taken off by the line decoder).
    fileprivate mutating func receive(_ line: String, pipelined: Bool = false) -> SMTPServerAction {
        commandReceived(.line(Array(line.utf8)), pipelinedInputFollows: pipelined)
    }
}

private func envelope(
    extended: Bool = true, sender: Mailbox? = alice, mailParameters: MailParameters = MailParameters(),
    recipients: [SMTPRecipient] = [SMTPRecipient(mailbox: bob)]
) -> SMTPEnvelope {
    SMTPEnvelope(
        heloName: "client.example", extended: extended, sender: sender, mailParameters: mailParameters,
        recipients: recipients)
}

private func summary(
    size: Int, bareLineFeed: Bool = false, bareCarriageReturn: Bool = false, lineTooLong: Bool = false,
    receivedHeaders: Int = 0
) -> SMTPDataDecoder.Summary {
    var summary = SMTPDataDecoder.Summary()
    summary.size = size
    summary.bareLineFeed = bareLineFeed
    summary.bareCarriageReturn = bareCarriageReturn
    summary.lineTooLong = lineTooLong
    summary.receivedHeaders = receivedHeaders
    return summary
}

private func parameters(notify: DSNNotify? = nil, originalRecipient: String? = nil) -> RecipientParameters {
    var parameters = RecipientParameters()
    parameters.notify = notify
    parameters.originalRecipient = originalRecipient
    return parameters
}

// MARK: - Phases

/// Where a session stands when the command under test arrives.
enum SessionPhase: String, CaseIterable, Sendable {
    case beforeHello
    case afterEHLO
    case afterHELO
    /// MAIL accepted, no recipient yet.
    case inTransaction
    /// MAIL and one RCPT (bob@example.org) accepted.
    case withRecipient

    /// Where RSET leaves the session.
    var afterReset: SessionPhase {
        switch self {
        case .beforeHello, .afterEHLO, .afterHELO: self
        case .inTransaction, .withRecipient: .afterEHLO
        }
    }
}

private func startSession(
    in phase: SessionPhase, authAvailable: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
) -> SMTPServerSession {
    var session = makeSession(authAvailable: authAvailable)
    #expect(session.connectionEstablished() == .send(greeting), sourceLocation: sourceLocation)
    switch phase {
    case .beforeHello:
        break
    case .afterEHLO, .inTransaction, .withRecipient:
        #expect(session.receive("EHLO client.example") == .send(ehloReply), sourceLocation: sourceLocation)
    case .afterHELO:
        #expect(session.receive("HELO client.example") == .send(heloReply), sourceLocation: sourceLocation)
    }
    if phase == .inTransaction || phase == .withRecipient {
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK), sourceLocation: sourceLocation)
    }
    if phase == .withRecipient {
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK), sourceLocation: sourceLocation)
    }
    return session
}

/// Checks that `session` behaves as in `phase` (this sends commands, so it ends the test's transcript).
private func checkPhase(
    _ session: inout SMTPServerSession, isIn phase: SessionPhase, sourceLocation: SourceLocation = #_sourceLocation
) {
    switch phase {
    case .beforeHello:
        #expect(
            session.receive("MAIL FROM:<alice@sender.example>") == .send(badSequence("send HELO/EHLO first")),
            sourceLocation: sourceLocation)
    case .afterEHLO, .afterHELO:
        #expect(session.receive("DATA") == .send(badSequence("need MAIL command")), sourceLocation: sourceLocation)
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK), sourceLocation: sourceLocation)
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK), sourceLocation: sourceLocation)
        #expect(
            session.receive("DATA") == .startData(startMailInput, envelope(extended: phase == .afterEHLO)),
            sourceLocation: sourceLocation)
    case .inTransaction:
        #expect(session.receive("DATA") == .send(badSequence("need RCPT command")), sourceLocation: sourceLocation)
    case .withRecipient:
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()), sourceLocation: sourceLocation)
    }
}

// MARK: - Tests

@Suite struct SMTPServerSessionTests {
    @Test func aClientThatSpokeBeforeTheGreetingIsRefused() {
        var session = makeSession()
        #expect(session.connectionEstablished(clientSpokeFirst: true) == .sendAndClose([
            SMTPReply(code: 554, EnhancedStatusCode(5, 5, 0), "Error: data sent before the greeting, closing connection")
        ]))
    }

    @Test func aWholeTransaction() {
        var session = makeSession()
        #expect(session.connectionEstablished() == .send(greeting))
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 120)) == .commit(envelope()))
        #expect(session.commitSucceeded(queueID: "01J9ZQ4T7X") == .send(queued("01J9ZQ4T7X")))
        #expect(session.receive("QUIT") == .sendAndClose([bye]))
        #expect(session.isClosed)
    }

    @Test func ehloAdvertisesTheExtensionsAndHeloDoesNot() {
        var session = makeSession()
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("HELO client.example") == .send(heloReply))
    }

    /// STARTTLS is not offered until TLS exists, and AUTH is offered over TLS only (SPEC).
    @Test func starttlsIsAdvertisedButAUTHIsNotOnAPlaintextSession() {
        var session = makeSession(tlsAvailable: true, authAvailable: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReplyWithSTARTTLS))
    }

    @Test func starttlsResetsTheSessionAndIsNotOfferedAgain() {
        var session = makeSession(tlsAvailable: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReplyWithSTARTTLS))
        #expect(session.receive("STARTTLS") == .startTLS(readyToStartTLS))
        session.tlsHandshakeCompleted()
        #expect(session.tlsActive)
        // RFC 3207 §4.2: back to the start; EHLO again, now without STARTTLS.
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(badSequence("send HELO/EHLO first")))
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("STARTTLS") == .send(badSequence("TLS already active")))
    }

    @Test func starttlsIsRefusedInsideATransaction() {
        var session = makeSession(tlsAvailable: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReplyWithSTARTTLS))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("STARTTLS") == .send(badSequence("MAIL transaction in progress")))
    }

    // MARK: Every command in every phase

    @Test(
        arguments: SessionPhase.allCases,
        [
            ("NOOP", ok),
            ("NOOP are you there", ok),
            ("VRFY bob", cannotVerify),
            ("EXPN staff", notImplemented),
            ("HELP", help),
            ("HELP DATA", help),
            ("STARTTLS", notImplemented),
            ("AUTH PLAIN", authNotEnabled),
            ("AUTH LOGIN", authNotEnabled),
        ])
    func commandsThatChangeNothing(phase: SessionPhase, exchange: (String, SMTPReply)) {
        var session = startSession(in: phase)
        #expect(session.receive(exchange.0) == .send(exchange.1))
        #expect(!session.isClosed)
        checkPhase(&session, isIn: phase)
    }

    @Test(arguments: SessionPhase.allCases)
    func quitSays221AndCloses(phase: SessionPhase) {
        var session = startSession(in: phase)
        #expect(session.receive("QUIT") == .sendAndClose([bye]))
        #expect(session.isClosed)
    }

    @Test(arguments: SessionPhase.allCases)
    func rsetEndsTheTransactionButKeepsTheGreeting(phase: SessionPhase) {
        var session = startSession(in: phase)
        #expect(session.receive("RSET") == .send(ok))
        checkPhase(&session, isIn: phase.afterReset)
    }

    @Test(arguments: SessionPhase.allCases)
    func ehloIsAcceptedAnywhereAndResetsTheTransaction(phase: SessionPhase) {
        var session = startSession(in: phase)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test(arguments: SessionPhase.allCases)
    func heloIsAcceptedAnywhereAndResetsTheTransaction(phase: SessionPhase) {
        var session = startSession(in: phase)
        #expect(session.receive("HELO client.example") == .send(heloReply))
        checkPhase(&session, isIn: .afterHELO)
    }

    @Test(arguments: [
        (SessionPhase.beforeHello, SMTPServerAction.send(badSequence("send HELO/EHLO first"))),
        (.afterEHLO, .send(senderOK)),
        (.afterHELO, .send(senderOK)),
        (.inTransaction, .send(badSequence("nested MAIL command"))),
        (.withRecipient, .send(badSequence("nested MAIL command"))),
    ])
    func mail(phase: SessionPhase, action: SMTPServerAction) {
        var session = startSession(in: phase)
        #expect(session.receive("MAIL FROM:<carol@example.org>") == action)
    }

    @Test(arguments: [
        (SessionPhase.beforeHello, SMTPServerAction.send(badSequence("need MAIL command"))),
        (.afterEHLO, .send(badSequence("need MAIL command"))),
        (.afterHELO, .send(badSequence("need MAIL command"))),
        (.inTransaction, .send(recipientOK)),
        (.withRecipient, .send(recipientOK)),
    ])
    func rcpt(phase: SessionPhase, action: SMTPServerAction) {
        var session = startSession(in: phase)
        #expect(session.receive("RCPT TO:<carol@example.org>") == action)
    }

    @Test(arguments: [
        (SessionPhase.beforeHello, SMTPServerAction.send(badSequence("send HELO/EHLO first"))),
        (.afterEHLO, .send(badSequence("need MAIL command"))),
        (.afterHELO, .send(badSequence("need MAIL command"))),
        (.inTransaction, .send(badSequence("need RCPT command"))),
        (.withRecipient, .startData(startMailInput, envelope())),
    ])
    func data(phase: SessionPhase, action: SMTPServerAction) {
        var session = startSession(in: phase)
        #expect(session.receive("DATA") == action)
    }

    @Test(arguments: [
        (SessionPhase.beforeHello, SMTPServerAction.discardChunk(size: 10, reply: badSequence("need MAIL command"))),
        (.afterEHLO, .discardChunk(size: 10, reply: badSequence("need MAIL command"))),
        (.afterHELO, .discardChunk(size: 10, reply: badSequence("need MAIL command"))),
        (.inTransaction, .discardChunk(size: 10, reply: badSequence("need RCPT command"))),
        (.withRecipient, .receiveChunk(size: 10, last: false, envelope(), beginsMessage: true)),
    ])
    func bdat(phase: SessionPhase, action: SMTPServerAction) {
        var session = startSession(in: phase)
        #expect(session.receive("BDAT 10") == action)
    }

    @Test func heloGivesABasicEnvelope() {
        var session = startSession(in: .afterHELO)
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(extended: false)))
        #expect(session.dataEnded(summary(size: 10)) == .commit(envelope(extended: false)))
    }

    @Test func theNullSenderIsAccepted() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("MAIL FROM:<>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(sender: nil)))
    }

    @Test func commandSyntaxErrorsKeepThePhase() {
        var session = startSession(in: .withRecipient)
        #expect(
            session.receive("MAIL FROM:alice@sender.example")
                == .send(reply(501, (5, 5, 4), "Syntax: MAIL FROM:<address>")))
        #expect(
            session.receive("RCPT TO:<bob@@example.org>") == .send(reply(501, (5, 1, 3), "Error: bad address syntax")))
        #expect(session.receive("XYZZY") == .send(commandUnrecognized))
        #expect(session.receive("NOOP\0") == .send(reply(500, (5, 5, 2), "Error: NUL character in command")))
        #expect(
            session.commandReceived(.line([0x4E, 0x4F, 0x4F, 0x50, 0x20, 0xFF]), pipelinedInputFollows: false)
                == .send(reply(500, (5, 5, 2), "Error: invalid UTF-8 in command")))
        checkPhase(&session, isIn: .withRecipient)
    }

    // MARK: AUTH and TLS policy

    @Test(arguments: [SessionPhase.beforeHello, .afterEHLO, .inTransaction])
    func authOnPlaintextIs538WhenConfigured(phase: SessionPhase) {
        var session = startSession(in: phase, authAvailable: true)
        #expect(session.receive("AUTH PLAIN") == .send(encryptionRequired))
        #expect(session.receive("AUTH PLAIN AHVzZXIAc2VjcmV0") == .send(encryptionRequired))
        #expect(session.receive("AUTH LOGIN") == .send(encryptionRequired))
    }

    @Test(arguments: [false, true])
    func authBeforeTLSOnARequireTLSListenerIs530First(authAvailable: Bool) {
        var session = makeSession(authAvailable: authAvailable, requireTLS: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("AUTH PLAIN AHVzZXIAc2VjcmV0") == .send(startTLSFirst))
    }

    @Test func requireTLSAllowsOnlyTheRFC3207CommandsBeforeTLS() {
        var session = makeSession(tlsAvailable: true, requireTLS: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReplyWithSTARTTLS))
        #expect(session.receive("NOOP") == .send(ok))
        #expect(session.receive("RSET") == .send(ok))
        #expect(session.receive("HELP") == .send(help))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(startTLSFirst))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(startTLSFirst))
        #expect(session.receive("DATA") == .send(startTLSFirst))
        #expect(session.receive("BDAT 7 LAST") == .discardChunk(size: 7, reply: startTLSFirst))
        #expect(session.receive("VRFY bob") == .send(startTLSFirst))
        #expect(session.receive("STARTTLS") == .startTLS(readyToStartTLS))
        session.tlsHandshakeCompleted()
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
    }

    /// RFC 4616: an authorization identity other than the user's own is refused (and counted as
    /// a failure) without the password being checked; the user's own is as good as none.
    @Test func plainWithAnotherAuthorizationIdentityIsRefused() {
        var session = makeSession(tlsAvailable: true, authAvailable: true)
        #expect(session.receive("EHLO client.example") != .none)
        #expect(session.receive("STARTTLS") == .startTLS(readyToStartTLS))
        session.tlsHandshakeCompleted()
        #expect(session.receive("EHLO client.example") != .none)
        #expect(session.receive("AUTH PLAIN YWRtaW4AYWxpY2UAcHc=")
            == .send(reply(535, (5, 7, 8), "Authorization identity not permitted")))
        #expect(session.authFailures == 1)
        #expect(session.receive("AUTH PLAIN YWxpY2UAYWxpY2UAcHc=") == .verifyCredentials(user: "alice", password: "pw"))
    }

    /// No room for 1.5 × the largest message (max_message_size, or a larger SIZE=): 452 at MAIL,
    /// not after the client sent it all (issue 13, hole 10).
    @Test(arguments: [(20_000, "MAIL FROM:<alice@sender.example>", true), (14_999, "MAIL FROM:<alice@sender.example>", false),
                      (15_000, "MAIL FROM:<alice@sender.example> SIZE=9000", true)])
    func mailIsRefusedWithoutRoomForTheMessage(free: Int, command: String, accepted: Bool) {
        var session = SMTPServerSession(
            configuration: SMTPServerSession.Configuration(
                hostname: hostname, maximumMessageSize: 10_000, maximumRecipients: 100, maximumErrors: 10, maximumHops: 100,
                clientMayRelay: true, acceptsDomain: { _ in false }, postmaster: hostmaster,
                storageHasRoom: { $0 <= free }))
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive(command) == .send(accepted ? senderOK : storageFailure))
    }

    @Test func requireAuthRefusesMailWith530() {
        var session = makeSession(authAvailable: true, requireAuth: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(authenticationRequired))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(badSequence("need MAIL command")))
    }

    // MARK: Relay access

    /// `%` and `!` routing to an accepted domain would relay on (issue 13, hole 9): refused
    /// from clients that may not relay, as Postfix's `allow_untrusted_routing = no` does.
    @Test(arguments: ["RCPT TO:<user%remote.example@example.org>", "RCPT TO:<remote.example!user@example.org>",
                      "RCPT TO:<\"user@remote.example\"@example.org>"])
    func senderSpecifiedRoutingIsRefusedFromOutsiders(command: String) {
        var outsider = makeSession(clientMayRelay: false)
        #expect(outsider.receive("EHLO client.example") == .send(ehloReply))
        #expect(outsider.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(outsider.receive(command) == .send(relayDenied))
        var trusted = makeSession(clientMayRelay: true)
        #expect(trusted.receive("EHLO client.example") == .send(ehloReply))
        #expect(trusted.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(trusted.receive(command) == .send(recipientOK))
    }

    @Test func aClientThatMayNotRelayReachesOnlyAcceptedDomains() {
        var session = makeSession(clientMayRelay: false)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<someone@elsewhere.example>") == .send(relayDenied))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("RCPT TO:<postmaster@elsewhere.example>") == .send(relayDenied))
        #expect(session.receive("RCPT TO:<carol@EXAMPLE.ORG>") == .send(recipientOK))
        let recipients = [
            SMTPRecipient(mailbox: bob), SMTPRecipient(mailbox: Mailbox(localPart: "carol", domain: "EXAMPLE.ORG")),
        ]
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(recipients: recipients)))
    }

    @Test func aClientThatMayRelayReachesAnyDomain() {
        var session = makeSession(clientMayRelay: true)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<someone@elsewhere.example>") == .send(recipientOK))
        #expect(session.receive("RCPT TO:<x@[192.0.2.1]>") == .send(recipientOK))
    }

    @Test(arguments: [
        ("<Postmaster>", "Postmaster"),
        ("<postmaster>", "postmaster"),
        ("<postmaster@relay.example.com>", "postmaster@relay.example.com"),
        ("<PostMaster@Relay.Example.COM>", "PostMaster@Relay.Example.COM"),
    ])
    func postmasterIsAcceptedFromAnyoneAndGoesToTheConfiguredPostmaster(path: String, original: String) {
        var session = makeSession(clientMayRelay: false)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<>") == .send(senderOK))
        #expect(session.receive("RCPT TO:\(path)") == .send(recipientOK))
        let rewritten = SMTPRecipient(
            mailbox: hostmaster, parameters: parameters(originalRecipient: "rfc822;\(original)"))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(sender: nil, recipients: [rewritten])))
    }

    @Test func theClientsOriginalRecipientAndNotifyAreKeptForPostmaster() {
        var session = makeSession(clientMayRelay: false)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(
            session.receive("RCPT TO:<Postmaster> NOTIFY=FAILURE ORCPT=rfc822;postmaster+40first-hop.example")
                == .send(recipientOK))
        let rewritten = SMTPRecipient(
            mailbox: hostmaster,
            parameters: parameters(notify: .failure, originalRecipient: "rfc822;postmaster@first-hop.example"))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(recipients: [rewritten])))
    }

    @Test func postmasterAtTheHostnameIsKeptWhenItIsThePostmaster() {
        let local = Mailbox(localPart: "postmaster", domain: hostname)
        var session = makeSession(clientMayRelay: false, postmaster: local)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<postmaster@relay.example.com>") == .send(recipientOK))
        #expect(session.receive("RCPT TO:<Postmaster>") == .send(recipientOK))
        let recipients = [
            SMTPRecipient(mailbox: local),
            SMTPRecipient(mailbox: local, parameters: parameters(originalRecipient: "rfc822;Postmaster")),
        ]
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(recipients: recipients)))
    }

    // MARK: SMTPUTF8

    @Test func aUTF8AddressNeedsSMTPUTF8OnMail() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("MAIL FROM:<josé@sender.example>") == .send(smtputf8Required))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<δοκιμή@example.org>") == .send(smtputf8Required))
    }

    @Test func mailWithSMTPUTF8LetsRecipientsUseUTF8TooForThatTransactionOnly() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("MAIL FROM:<josé@sender.example> SMTPUTF8") == .send(senderOK))
        #expect(session.receive("RCPT TO:<δοκιμή@example.org>") == .send(recipientOK))
        var mailParameters = MailParameters()
        mailParameters.smtputf8 = true
        let expected = envelope(
            sender: Mailbox(localPart: "josé", domain: "sender.example"), mailParameters: mailParameters,
            recipients: [SMTPRecipient(mailbox: Mailbox(localPart: "δοκιμή", domain: "example.org"))])
        #expect(session.receive("DATA") == .startData(startMailInput, expected))
        #expect(session.dataEnded(summary(size: 10)) == .commit(expected))
        #expect(session.commitSucceeded(queueID: "Q1") == .send(queued("Q1")))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<δοκιμή@example.org>") == .send(smtputf8Required))
    }

    // MARK: Limits

    @Test func recipientsOverTheLimitGet452AndAreNotCountedAsErrors() {
        var session = makeSession(maximumRecipients: 2, maximumErrors: 2)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>", pipelined: true) == .send(recipientOK))
        #expect(session.receive("RCPT TO:<carol@example.org>", pipelined: true) == .send(recipientOK))
        for index in 1...5 {
            #expect(session.receive("RCPT TO:<user\(index)@example.org>", pipelined: true) == .send(tooManyRecipients))
        }
        #expect(!session.isClosed)
        let recipients = [SMTPRecipient(mailbox: bob), SMTPRecipient(mailbox: carol)]
        #expect(session.receive("DATA") == .startData(startMailInput, envelope(recipients: recipients)))
    }

    @Test func theLastAllowedErrorGets421AndCloses() {
        var session = makeSession(maximumErrors: 3)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("FOO") == .send(commandUnrecognized))
        #expect(session.receive("NOOP") == .send(ok))
        #expect(session.receive("BAR") == .send(commandUnrecognized))
        #expect(session.receive("BAZ") == .sendAndClose([commandUnrecognized, tooManyErrors]))
        #expect(session.isClosed)
    }

    @Test func everyKindOfRefusedCommandCountsAsAnError() {
        var session = makeSession(maximumErrors: 5)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(badSequence("need MAIL command")))
        #expect(
            session.receive("MAIL FROM:<alice@@sender.example>")
                == .send(reply(501, (5, 1, 7), "Error: bad address syntax")))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<x@elsewhere.example>") == .send(relayDenied))
        #expect(session.commandReceived(.tooLong, pipelinedInputFollows: false) == .send(commandLineTooLong))
        #expect(session.receive("EXPN staff") == .sendAndClose([notImplemented, tooManyErrors]))
    }

    @Test func aBDATRefusalCountsAsAnError() {
        var session = makeSession(maximumErrors: 2)
        #expect(session.receive("EHLO client.example") == .send(ehloReply))
        #expect(session.receive("BDAT 5") == .discardChunk(size: 5, reply: badSequence("need MAIL command")))
        #expect(session.receive("BDAT 5") == .sendAndClose([badSequence("need MAIL command"), tooManyErrors]))
    }

    @Test func aDeclaredSizeOverTheLimitIs552() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("MAIL FROM:<alice@sender.example> SIZE=10001") == .send(messageTooBig))
        #expect(session.receive("MAIL FROM:<alice@sender.example> SIZE=10000") == .send(senderOK))
    }

    @Test func aMessageOverTheSizeLimitIsRefusedAtTheEndAndTheSessionGoesOn() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 10_001)) == .abortMessage(messageTooBig))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test func aMessageOfExactlyTheSizeLimitIsCommitted() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 10_000)) == .commit(envelope()))
    }

    @Test(arguments: [(100, true), (101, false)])
    func moreReceivedHeadersThanMaxHopsIsAMailLoop(received: Int, committed: Bool) {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        let action = session.dataEnded(summary(size: 5000, receivedHeaders: received))
        let expected: SMTPServerAction = committed ? .commit(envelope()) : .abortMessage(mailLoop)
        #expect(action == expected)
    }

    @Test(arguments: [
        (summary(size: 10, lineTooLong: true), textLineTooLong),
        (summary(size: 10, bareLineFeed: true), bareLineFeed),
        (summary(size: 10, bareCarriageReturn: true), bareCarriageReturn),
        (summary(size: 10, bareLineFeed: true, bareCarriageReturn: true), bareCarriageReturn),
        ({ var flagged = summary(size: 10); flagged.nul = true; return flagged }(),
         reply(550, (5, 6, 0), "Error: NUL character in message text")),
    ])
    func aFlaggedMessageIsRefusedAtTheEndAndTheSessionGoesOn(flagged: SMTPDataDecoder.Summary, refusal: SMTPReply) {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(flagged) == .abortMessage(refusal))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test func anOverlongCommandLineIs500AndTheNextLineIsRead() {
        var session = makeSession()
        var decoder = SMTPCommandLineDecoder(normalizeBareLineFeed: false)
        var input = ByteBuffer(
            string: "EHLO client.example\r\nMAIL FROM:<" + String(repeating: "a", count: 600)
                + "@sender.example>\r\nNOOP\r\n")
        var actions: [SMTPServerAction] = []
        while let line = decoder.next(&input) {
            actions.append(session.commandReceived(line, pipelinedInputFollows: input.readableBytes > 0))
        }
        #expect(actions == [.send(ehloReply), .send(commandLineTooLong), .send(ok)])
    }

    @Test func aCommandEndingInABareLineFeedIs550AndCloses() {
        var session = startSession(in: .afterEHLO)
        #expect(session.commandReceived(.bareLineFeed, pipelinedInputFollows: false) == .sendAndClose([bareLineFeed]))
        #expect(session.isClosed)
    }

    @Test func aCommandHoldingABareCarriageReturnIs550AndCloses() {
        var session = startSession(in: .afterEHLO)
        #expect(
            session.commandReceived(.bareCarriageReturn, pipelinedInputFollows: false)
                == .sendAndClose([bareCarriageReturn]))
        #expect(session.isClosed)
    }

    // MARK: DATA

    @Test func dataAfterOnlyRefusedRecipientsIs554() {
        var session = startSession(in: .inTransaction)
        #expect(session.receive("RCPT TO:<x@elsewhere.example>") == .send(relayDenied))
        #expect(session.receive("RCPT TO:<y@elsewhere.example>") == .send(relayDenied))
        #expect(session.receive("DATA") == .send(noValidRecipients))
    }

    @Test func dataAfterSomeRefusedRecipientsGoesOnWithTheOthers() {
        var session = startSession(in: .inTransaction)
        #expect(session.receive("RCPT TO:<x@elsewhere.example>") == .send(relayDenied))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
    }

    /// RFC 2920 §3.1, SPEC: text pipelined behind DATA before the 354 is transaction stuffing.
    @Test func dataWithPipelinedInputBehindItIs554AndCloses() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("MAIL FROM:<alice@sender.example>", pipelined: true) == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>", pipelined: true) == .send(recipientOK))
        #expect(session.receive("DATA", pipelined: true) == .sendAndClose([transactionStuffing]))
        #expect(session.isClosed)
    }

    @Test func theCommittedEnvelopeIsExactlyWhatTheClientGave() {
        var session = startSession(in: .afterEHLO)
        #expect(
            session.receive("MAIL FROM:<alice@sender.example> SIZE=2048 BODY=8BITMIME RET=HDRS ENVID=QQ314159+2B1")
                == .send(senderOK))
        #expect(
            session.receive("RCPT TO:<bob@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;bob+40example.org")
                == .send(recipientOK))
        #expect(session.receive("RCPT TO:<carol@example.org> NOTIFY=NEVER") == .send(recipientOK))
        #expect(session.receive("RCPT TO:<x@elsewhere.example>") == .send(relayDenied))
        var mailParameters = MailParameters()
        mailParameters.size = 2048
        mailParameters.body = .eightBitMIME
        mailParameters.ret = .headers
        mailParameters.envelopeID = "QQ314159+1"
        let expected = SMTPEnvelope(
            heloName: "client.example", extended: true, sender: alice, mailParameters: mailParameters,
            recipients: [
                SMTPRecipient(
                    mailbox: bob,
                    parameters: parameters(notify: [.success, .failure], originalRecipient: "rfc822;bob@example.org")),
                SMTPRecipient(mailbox: carol, parameters: parameters(notify: .never)),
            ])
        #expect(session.receive("DATA") == .startData(startMailInput, expected))
        #expect(!session.isIdle)
        #expect(session.dataEnded(summary(size: 2000, receivedHeaders: 3)) == .commit(expected))
        #expect(!session.isIdle)
        #expect(session.commitSucceeded(queueID: "01HZY3") == .send(queued("01HZY3")))
        #expect(session.isIdle)
    }

    @Test func aFailedCommitIs452AndTheNextTransactionStartsClean() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 100)) == .commit(envelope()))
        #expect(session.commitFailed() == .send(storageFailure))
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<carol@example.org>") == .send(recipientOK))
        #expect(
            session.receive("DATA") == .startData(startMailInput, envelope(recipients: [SMTPRecipient(mailbox: carol)]))
        )
    }

    @Test func aSecondTransactionOnTheSameSessionHasOnlyItsOwnRecipients() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 100)) == .commit(envelope()))
        #expect(session.commitSucceeded(queueID: "Q1") == .send(queued("Q1")))
        #expect(session.receive("MAIL FROM:<>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<carol@example.org>") == .send(recipientOK))
        #expect(
            session.receive("DATA")
                == .startData(startMailInput, envelope(sender: nil, recipients: [SMTPRecipient(mailbox: carol)])))
    }

    // MARK: BDAT (RFC 3030)

    @Test func chunksAreAcceptedAndTheLastOneCommits() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 5") == .receiveChunk(size: 5, last: false, envelope(), beginsMessage: true))
        #expect(!session.isIdle)
        #expect(session.chunkReceived(summary(size: 5)) == .send(chunkOK(5)))
        #expect(session.receive("BDAT 3 LAST") == .receiveChunk(size: 3, last: true, envelope(), beginsMessage: false))
        #expect(session.chunkReceived(summary(size: 8)) == .commit(envelope()))
        #expect(session.commitSucceeded(queueID: "Q7") == .send(queued("Q7")))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test func aZeroSizeLastChunkCommits() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 0 LAST") == .receiveChunk(size: 0, last: true, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(SMTPDataDecoder.Summary()) == .commit(envelope()))
    }

    @Test func aZeroSizeLastChunkEndsEarlierChunks() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 4") == .receiveChunk(size: 4, last: false, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(summary(size: 4)) == .send(chunkOK(4)))
        #expect(session.receive("BDAT 0 LAST") == .receiveChunk(size: 0, last: true, envelope(), beginsMessage: false))
        #expect(session.chunkReceived(summary(size: 4)) == .commit(envelope()))
    }

    /// A reset between chunks drops the message the chunks began (it must not reach the next
    /// transaction), and the next BDAT begins a new one.
    @Test(arguments: ["RSET", "EHLO client.example", "HELO client.example"])
    func aResetBetweenChunksDiscardsTheOpenMessage(reset: String) {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 5") == .receiveChunk(size: 5, last: false, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(summary(size: 5)) == .send(chunkOK(5)))
        guard case .discardMessage = session.receive(reset) else {
            Issue.record("\(reset) between chunks did not discard the open message")
            return
        }
        #expect(session.receive("MAIL FROM:<alice@sender.example>") == .send(senderOK))
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        guard case .receiveChunk(_, _, _, let begins) = session.receive("BDAT 3 LAST") else {
            Issue.record("BDAT after \(reset) was not received")
            return
        }
        #expect(begins)
    }

    @Test func aResetWithoutChunksDiscardsNothing() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("RSET") == .send(ok))
    }

    @Test func bdatWithoutMailDiscardsTheChunk() {
        var session = startSession(in: .afterEHLO)
        #expect(session.receive("BDAT 42 LAST") == .discardChunk(size: 42, reply: badSequence("need MAIL command")))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test func dataAfterBDATIs503() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 5") == .receiveChunk(size: 5, last: false, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(summary(size: 5)) == .send(chunkOK(5)))
        #expect(session.receive("DATA") == .send(badSequence("DATA after BDAT")))
        #expect(session.receive("BDAT 1 LAST") == .receiveChunk(size: 1, last: true, envelope(), beginsMessage: false))
        #expect(session.chunkReceived(summary(size: 6)) == .commit(envelope()))
    }

    @Test func anOversizedChunkDropsTheTransaction() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 10001") == .receiveChunk(size: 10_001, last: false, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(summary(size: 10_001)) == .abortMessage(messageTooBig))
        #expect(session.receive("BDAT 5 LAST") == .discardChunk(size: 5, reply: badSequence("need MAIL command")))
        checkPhase(&session, isIn: .afterEHLO)
    }

    @Test(arguments: [
        (summary(size: 10_001), messageTooBig),
        (summary(size: 50, lineTooLong: true), textLineTooLong),
        (summary(size: 50, bareLineFeed: true), bareLineFeed),
        (summary(size: 50, bareCarriageReturn: true), bareCarriageReturn),
        (summary(size: 50, receivedHeaders: 101), mailLoop),
    ])
    func aFlaggedLastChunkIsRefused(flagged: SMTPDataDecoder.Summary, refusal: SMTPReply) {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 50 LAST") == .receiveChunk(size: 50, last: true, envelope(), beginsMessage: true))
        #expect(session.chunkReceived(flagged) == .abortMessage(refusal))
        checkPhase(&session, isIn: .afterEHLO)
    }

    // MARK: Timeouts and shutdown

    @Test func aTimeoutIs421AndCloses() {
        var session = startSession(in: .inTransaction)
        #expect(session.timedOut() == .sendAndClose([timeout]))
        #expect(session.isClosed)
    }

    @Test(arguments: [SessionPhase.beforeHello, .afterEHLO, .afterHELO])
    func shutdownClosesAnIdleSessionAtOnce(phase: SessionPhase) {
        var session = startSession(in: phase)
        #expect(session.isIdle)
        #expect(session.shutdownRequested() == .sendAndClose([shuttingDown]))
        #expect(session.isClosed)
        #expect(session.shutdownRequested() == .none)
        #expect(session.shutdownTimedOut() == .none)
    }

    @Test func shutdownLetsATransactionFinishThenCloses() {
        var session = startSession(in: .inTransaction)
        #expect(session.shutdownRequested() == .none)
        #expect(!session.isClosed)
        #expect(session.receive("RCPT TO:<bob@example.org>") == .send(recipientOK))
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 10)) == .commit(envelope()))
        #expect(session.commitSucceeded(queueID: "Q9") == .sendAndClose([queued("Q9"), shuttingDown]))
        #expect(session.isClosed)
    }

    @Test func shutdownDuringACommitThatFails() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.dataEnded(summary(size: 10)) == .commit(envelope()))
        #expect(session.shutdownRequested() == .none)
        #expect(session.commitFailed() == .sendAndClose([storageFailure, shuttingDown]))
        #expect(session.isClosed)
    }

    @Test func shutdownDuringARefusedMessage() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("DATA") == .startData(startMailInput, envelope()))
        #expect(session.shutdownRequested() == .none)
        #expect(session.dataEnded(summary(size: 10_001)) == .sendAndClose([messageTooBig, shuttingDown]))
        #expect(session.isClosed)
    }

    @Test func shutdownDuringAnOversizedChunk() {
        var session = startSession(in: .withRecipient)
        #expect(session.receive("BDAT 10001") == .receiveChunk(size: 10_001, last: false, envelope(), beginsMessage: true))
        #expect(session.shutdownRequested() == .none)
        #expect(session.chunkReceived(summary(size: 10_001)) == .sendAndClose([messageTooBig, shuttingDown]))
        #expect(session.isClosed)
    }

    /// SPEC: idle sessions get 421 at once; a transaction the client drops leaves the session idle.
    @Test(arguments: ["RSET", "EHLO client.example", "HELO client.example"])
    func shutdownClosesTheSessionOnceTheClientDropsTheTransaction(command: String) {
        var session = startSession(in: .withRecipient)
        #expect(session.shutdownRequested() == .none)
        #expect(session.receive("NOOP") == .send(ok))
        let reply = command == "RSET" ? ok : command.hasPrefix("EHLO") ? ehloReply : heloReply
        #expect(session.receive(command) == .sendAndClose([reply, shuttingDown]))
        #expect(session.isClosed)
    }

    @Test func theShutdownDeadlineClosesATransactionInFlight() {
        var session = startSession(in: .withRecipient)
        #expect(session.shutdownRequested() == .none)
        #expect(session.shutdownTimedOut() == .sendAndClose([shuttingDown]))
        #expect(session.isClosed)
        #expect(session.shutdownTimedOut() == .none)
    }
}

// MARK: - Client against session, through the decoders

/// Drives a session with the command and data decoders as SMTPServerHandler does; every commit succeeds.
private struct Harness {
    var session: SMTPServerSession
    let normalizeBareLineFeed: Bool
    var commandDecoder: SMTPCommandLineDecoder
    var dataDecoder: SMTPDataDecoder?
    var input = ByteBuffer()
    var text = ByteBuffer()
    /// The messages committed, as they would go to the spool.
    var committed: [(envelope: SMTPEnvelope, text: String)] = []

    init(session: SMTPServerSession, normalizeBareLineFeed: Bool) {
        self.session = session
        self.normalizeBareLineFeed = normalizeBareLineFeed
        self.commandDecoder = SMTPCommandLineDecoder(normalizeBareLineFeed: normalizeBareLineFeed)
    }

    /// The client writes `bytes` in one go. - Returns: what the session did, in order.
    mutating func client(_ bytes: String) -> [SMTPServerAction] {
        input.writeString(bytes)
        var actions: [SMTPServerAction] = []
        while true {
            if var decoder = dataDecoder {
                let ended = decoder.decode(&input, into: &text)
                dataDecoder = decoder
                guard ended else { return actions }
                dataDecoder = nil
                let action = session.dataEnded(decoder.summary)
                actions.append(action)
                if case .commit(let envelope) = action {
                    committed.append((envelope, String(buffer: text)))
                    actions.append(session.commitSucceeded(queueID: "Q\(committed.count)"))
                }
                continue
            }
            guard let line = commandDecoder.next(&input) else { return actions }
            let action = session.commandReceived(line, pipelinedInputFollows: input.readableBytes > 0)
            actions.append(action)
            switch action {
            case .startData:
                text.clear()
                dataDecoder = SMTPDataDecoder(
                    configuration: SMTPDataDecoder.Configuration(
                        normalizeBareLineFeed: normalizeBareLineFeed, maximumLineLength: 1000, dotStuffed: true))
            case .sendAndClose:
                return actions
            default:
                break
            }
        }
    }
}

@Suite struct SMTPServerSessionTranscriptTests {
    private let smuggling = """
        Subject: one\r
        \r
        first message\n.\nMAIL FROM:<evil@attacker.example>\r
        RCPT TO:<bob@example.org>\r
        DATA\r
        Subject: smuggled\r
        \r
        second message\r
        .\r

        """

    @Test func underRejectABareLineFeedSmugglesNothingAndTheMessageIsRefused() {
        var harness = Harness(session: makeSession(), normalizeBareLineFeed: false)
        #expect(harness.client("EHLO client.example\r\n") == [.send(ehloReply)])
        #expect(
            harness.client("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.org>\r\n") == [
                .send(senderOK), .send(recipientOK),
            ])
        #expect(harness.client("DATA\r\n") == [.startData(startMailInput, envelope())])
        #expect(harness.client(smuggling) == [.abortMessage(bareLineFeed)])
        #expect(harness.committed.isEmpty)
        #expect(harness.client("QUIT\r\n") == [.sendAndClose([bye])])
    }

    /// SPEC, as Postfix 3.9's normalize: LF.LF does not end the data, so the "second message"
    /// is text of the first, and one message is committed (issue 13, hole 5).
    @Test func underNormalizeTheBareLineFeedDotIsContentAndNothingIsSmuggled() {
        var harness = Harness(session: makeSession(), normalizeBareLineFeed: true)
        #expect(harness.client("EHLO client.example\n") == [.send(ehloReply)])
        #expect(
            harness.client("MAIL FROM:<alice@sender.example>\nRCPT TO:<bob@example.org>\n") == [
                .send(senderOK), .send(recipientOK),
            ])
        #expect(harness.client("DATA\n") == [.startData(startMailInput, envelope())])
        #expect(harness.client(smuggling) == [.commit(envelope()), .send(queued("Q1"))])
        #expect(harness.committed.count == 1)
        #expect(
            harness.committed.first?.text
                == "Subject: one\r\n\r\nfirst message\r\n.\r\nMAIL FROM:<evil@attacker.example>\r\n"
                + "RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: smuggled\r\n\r\nsecond message\r\n")
    }

    @Test func aPipelinedRecipientFloodIsCappedWithoutClosing() {
        var harness = Harness(
            session: makeSession(maximumRecipients: 100, maximumErrors: 10), normalizeBareLineFeed: false)
        #expect(harness.client("EHLO client.example\r\n") == [.send(ehloReply)])
        let flood = (1...150).map { "RCPT TO:<user\($0)@example.org>\r\n" }.joined()
        let actions = harness.client("MAIL FROM:<alice@sender.example>\r\n" + flood)
        let expected: [SMTPServerAction] =
            [.send(senderOK)] + Array(repeating: .send(recipientOK), count: 100)
            + Array(repeating: .send(tooManyRecipients), count: 50)
        #expect(actions == expected)
        let actionsAfterData = harness.client("DATA\r\n")
        guard case .startData(_, let envelope) = actionsAfterData.first else {
            Issue.record("DATA was refused: \(actionsAfterData)")
            return
        }
        #expect(envelope.recipients.map(\.mailbox.localPart) == (1...100).map { "user\($0)" })
        #expect(harness.client("hello\r\n.\r\n") == [.commit(envelope), .send(queued("Q1"))])
    }

    @Test func aMessageAndTheNextCommandInOneWrite() {
        var harness = Harness(session: makeSession(), normalizeBareLineFeed: false)
        #expect(harness.client("EHLO client.example\r\n") == [.send(ehloReply)])
        #expect(
            harness.client("MAIL FROM:<alice@sender.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n") == [
                .send(senderOK), .send(recipientOK), .startData(startMailInput, envelope()),
            ])
        #expect(
            harness.client("Subject: hi\r\n\r\n..dot\r\n.\r\nQUIT\r\n") == [
                .commit(envelope()), .send(queued("Q1")), .sendAndClose([bye]),
            ])
        #expect(harness.committed.first?.text == "Subject: hi\r\n\r\n.dot\r\n")
    }
}

/// A client that holds its connection with NOOPs (issue 13, hole 4): past Postfix's junk
/// command limit each one counts as an error, and max_errors ends the session.
@Suite struct JunkCommandTests {
    @Test func noopsPastTheLimitCountAsErrors() {
        var session = makeSession(maximumErrors: 3)
        _ = session.connectionEstablished()
        _ = session.receive("EHLO client.example")
        for _ in 0..<SMTPServerSession.junkCommandLimit {
            #expect(session.receive("NOOP") == .send(ok))
        }
        #expect(session.receive("NOOP") == .send(ok))  // error 1
        #expect(session.receive("HELP") != .none)  // error 2
        #expect(session.receive("RSET") == .sendAndClose([ok, tooManyErrors]))  // error 3
        #expect(session.isClosed)
    }

    @Test func realCommandsDoNotCount() {
        var session = makeSession(maximumErrors: 3)
        _ = session.connectionEstablished()
        _ = session.receive("EHLO client.example")
        for _ in 0..<(SMTPServerSession.junkCommandLimit * 2) {
            #expect(session.receive("MAIL FROM:<alice@example.net>") == .send(reply(250, (2, 1, 0), "Ok")))
            _ = session.receive("RSET")
            if session.isClosed { break }
        }
        // RSET is junk too (as in Postfix), so a client looping MAIL/RSET is cut as well.
        #expect(session.isClosed)
    }

    @Test func aQueuedMessageStartsTheCountAgain() {
        var session = makeSession(maximumErrors: 3)
        _ = session.connectionEstablished()
        _ = session.receive("EHLO client.example")
        for round in 0..<3 {
            for _ in 0..<SMTPServerSession.junkCommandLimit { _ = session.receive("RSET") }
            _ = session.receive("MAIL FROM:<alice@example.net>")
            _ = session.receive("RCPT TO:<bob@example.org>")
            _ = session.receive("DATA")
            _ = session.dataEnded(summary(size: 10))
            #expect(session.commitSucceeded(queueID: "Q\(round)") == .send(queued("Q\(round)")))
        }
        #expect(!session.isClosed)
    }
}
