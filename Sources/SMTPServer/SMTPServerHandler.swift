import Logging
import NIOCore
import NIOTLS
import SMTPCore

/// Sent down a session's pipeline to start a graceful shutdown (SPEC: idle sessions get `421`
/// at once, open transactions may finish).
public struct SMTPShutdownRequested: Sendable {
    public init() {}
}

/// Reads what a TLS handshake negotiated: version and cipher, nil before it finished.
public typealias TLSNegotiationReader = @Sendable () -> (version: String, cipher: String)?

/// Puts TLS at the front of a channel's pipeline (server mode).
public typealias TLSInstaller = @Sendable (any Channel) throws -> TLSNegotiationReader

/// Checks a user name and password; calls back (on any thread) with the verdict.
public typealias CredentialsVerifier = @Sendable (_ user: String, _ password: String, _ done: @escaping @Sendable (Bool) -> Void) -> Void

/// Sent when the shutdown timeout expires: whatever is still open gets `421` now.
public struct SMTPShutdownDeadlinePassed: Sendable {
    public init() {}
}

/// Drives one `SMTPServerSession` over a channel: frames input, feeds the machine, acts on its
/// answers. Input is not read while a commit is in flight, so replies keep their order and a
/// pipelining client cannot make the server buffer without bound.
public final class SMTPServerHandler: ChannelDuplexHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// Per-connection settings that are not part of the protocol machine.
    public struct Configuration: Sendable {
        public var commandTimeout: TimeAmount
        public var dataTimeout: TimeAmount
        public var normalizeBareLineFeed: Bool
        public var maximumLineLength: Int
        /// Puts TLS at the front of the pipeline (server mode) and returns a way to read what
        /// was negotiated; nil when the listener has no `[tls]`. The protocol module knows no
        /// TLS library: the role that wires it in supplies this.
        public var installTLS: TLSInstaller?
        /// smtps: TLS from the first byte; the greeting waits for the handshake.
        public var implicitTLS: Bool
        /// Checks AUTH credentials; nil when the listener has no `[auth]`.
        public var verifyCredentials: CredentialsVerifier?
        /// Told of every message refused after its text, with the enhanced status code.
        public var onMessageRefused: (@Sendable (String) -> Void)?
        /// Refuse a client whose data is already in when the greeting is due (SPEC: `554 5.5.0`).
        /// Off behind a PROXY header, whose client may legitimately be ahead of the greeting.
        public var refuseEarlyTalkers: Bool
        /// Told of every refusal `event=reject` logs, with its stage (MAIL, RCPT, DATA, BDAT,
        /// END-OF-MESSAGE): for the metrics.
        public var onRefusal: (@Sendable (String) -> Void)?
        /// Whether the listener is under stress (most connection slots taken): then every
        /// timeout is cut to `stressTimeout`. Asked each time a wait begins.
        public var underStress: (@Sendable () -> Bool)?

        public init(
            commandTimeout: TimeAmount, dataTimeout: TimeAmount, normalizeBareLineFeed: Bool, maximumLineLength: Int,
            installTLS: TLSInstaller? = nil,
            implicitTLS: Bool = false, verifyCredentials: CredentialsVerifier? = nil,
            onMessageRefused: (@Sendable (String) -> Void)? = nil, refuseEarlyTalkers: Bool = true,
            underStress: (@Sendable () -> Bool)? = nil, onRefusal: (@Sendable (String) -> Void)? = nil
        ) {
            self.onRefusal = onRefusal
            self.underStress = underStress
            self.refuseEarlyTalkers = refuseEarlyTalkers
            self.onMessageRefused = onMessageRefused
            self.verifyCredentials = verifyCredentials
            self.installTLS = installTLS
            self.implicitTLS = implicitTLS
            self.commandTimeout = commandTimeout
            self.dataTimeout = dataTimeout
            self.normalizeBareLineFeed = normalizeBareLineFeed
            self.maximumLineLength = maximumLineLength
        }
    }

    enum Mode {
        case command
        case data
        case chunk(remaining: Int, last: Bool)
        case discardChunk(remaining: Int, reply: SMTPReply)
        case committing
        /// STARTTLS answered; input waits for the handshake.
        case awaitingTLS
        /// AUTH credentials are being checked; input waits.
        case verifying
        case closed
    }

    var session: SMTPServerSession
    let configuration: Configuration
    private let sink: any SMTPMessageSink
    var info: SMTPSessionInfo
    private var negotiatedTLS: TLSNegotiationReader?
    var logger: Logger
    var mode = Mode.command
    private var commandDecoder: SMTPCommandLineDecoder
    private var textDecoder: SMTPDataDecoder?
    private var writer: (any SMTPMessageWriter)?
    private var input: ByteBuffer?
    private var readPending = false
    var timeout: Scheduled<Void>?
    /// When the wait in progress ends (see SMTPServerHandler+Timeout.swift).
    var deadline = NIODeadline.now()
    /// When the scheduled timer fires, if one is scheduled.
    var timerDeadline: NIODeadline?
    /// The text deadline of the BDAT message being received, carried from chunk to chunk.
    var messageDeadline: NIODeadline?
    private var wroteSinceFlush = false
    /// The client shut its sending side (a read EOF). Its last commands are still answered:
    /// the connection closes once nothing is left to do (a commit, a credentials check).
    private var inputClosed = false

    public init(
        session: SMTPServerSession, configuration: Configuration, sink: any SMTPMessageSink, info: SMTPSessionInfo,
        logger: Logger
    ) {
        self.session = session
        self.configuration = configuration
        self.sink = sink
        self.info = info
        self.logger = logger
        self.commandDecoder = SMTPCommandLineDecoder(normalizeBareLineFeed: configuration.normalizeBareLineFeed)
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        guard configuration.implicitTLS, let installTLS = configuration.installTLS else { return }
        do {
            negotiatedTLS = try installTLS(context.channel)
        } catch {
            logger.error("cannot start TLS", metadata: ["reason": "\(error)"])
            context.close(promise: nil)
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        if configuration.implicitTLS {
            // smtps: the TLS handler is already in front; the greeting waits for the handshake.
            mode = .awaitingTLS
            armTimeout(context: context)
            context.fireChannelActive()
            return
        }
        let spokeFirst = configuration.refuseEarlyTalkers && clientHasSentData(context.channel)
        let action = session.connectionEstablished(clientSpokeFirst: spokeFirst)
        if case .sendAndClose(let replies) = action {
            logger.notice("refused", metadata: ["reason": "data sent before the greeting"])
            refuseAtGreeting(replies, context: context)
            context.fireChannelActive()
            return
        }
        run(action, context: context)
        flushIfNeeded(context: context)
        armTimeout(context: context)
        context.fireChannelActive()
    }

    /// Answers and closes a connection whose client's input is still unread. Closing at once
    /// would make the kernel answer that input with a reset, which can destroy the reply on its
    /// way; so the output is shut first, what the client sends meanwhile is read and dropped, and
    /// the connection closes when the client closes it, or after a few seconds.
    private func refuseAtGreeting(_ replies: [SMTPReply], context: ChannelHandlerContext) {
        mode = .closed
        var buffer = context.channel.allocator.buffer(capacity: 128)
        for reply in replies { reply.write(into: &buffer) }
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(buffer)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
            channel.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        writer?.abort()
        writer = nil
        mode = .closed
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !isClosed else { return }
        var bytes = unwrapInboundIn(data)
        creditInput(bytes.readableBytes, context: context)
        if input == nil {
            input = bytes
        } else {
            input!.writeBuffer(&bytes)
        }
        process(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushIfNeeded(context: context)
        context.fireChannelReadComplete()
    }

    public func read(context: ChannelHandlerContext) {
        if case .verifying = mode {
            readPending = true
            return
        }
        if case .committing = mode, (input?.readableBytes ?? 0) >= Self.inputHeldWhileCommitting {
            // Backpressure only for a client that keeps sending while its message is committed:
            // holding every read would switch the socket's epoll interest off and on again for
            // each message.
            readPending = true
            return
        }
        context.read()
    }

    /// Input buffered during a commit beyond which reading stops until the commit is done.
    static let inputHeldWhileCommitting = 4096

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            tlsEstablished(context: context)
        } else if event is SMTPShutdownRequested {
            run(session.shutdownRequested(), context: context)
            flushIfNeeded(context: context)
        } else if event is SMTPShutdownDeadlinePassed {
            run(session.shutdownTimedOut(), context: context)
            flushIfNeeded(context: context)
        } else if case ChannelEvent.inputClosed = event {
            inputClosed = true
            closeIfInputEnded(context: context)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("connection error", metadata: ["reason": "\(error)"])
        context.close(promise: nil)
    }

    // MARK: Input

    private func process(context: ChannelHandlerContext) {
        loop: while true {
            let available = input?.readableBytes ?? 0
            switch mode {
            case .command:
                guard available > 0, let line = commandDecoder.next(&input!) else { break loop }
                let more = (input?.readableBytes ?? 0) > 0
                // A whole command line came in: the wait for the next one starts now.
                armTimeout(context: context)
                let sender = session.transactionSender
                let action = session.commandReceived(line, pipelinedInputFollows: more)
                logIfRefused(line, sender: sender, action)
                run(action, context: context)
            case .data:
                guard available > 0 else { break loop }
                var text = context.channel.allocator.buffer(capacity: available)
                // Invariant: textDecoder is set whenever mode is .data or .chunk.
                let ended = textDecoder!.decode(&input!, into: &text)
                deliver(text)
                guard ended else { break loop }
                let sender = session.transactionSender
                let action = session.dataEnded(textDecoder!.summary)
                logIfRefused(messageFrom: sender, action)
                run(action, context: context)
            case .chunk(let remaining, let last):
                let length = min(remaining, available)
                if length > 0 {
                    // Invariant: length <= readableBytes.
                    var slice = input!.readSlice(length: length)!
                    var text = context.channel.allocator.buffer(capacity: length)
                    _ = textDecoder!.decode(&slice, into: &text)
                    deliver(text)
                }
                guard remaining == length else {
                    mode = .chunk(remaining: remaining - length, last: last)
                    break loop
                }
                if last { textDecoder!.finish() }
                mode = .command
                armTimeout(context: context)
                let sender = session.transactionSender
                let action = session.chunkReceived(textDecoder!.summary)
                logIfRefused(messageFrom: sender, action)
                run(action, context: context)
            case .discardChunk(let remaining, let reply):
                let length = min(remaining, available)
                input?.moveReaderIndex(forwardBy: length)
                guard remaining == length else {
                    mode = .discardChunk(remaining: remaining - length, reply: reply)
                    break loop
                }
                mode = .command
                armTimeout(context: context)
                send(reply, context: context)
            case .committing, .awaitingTLS, .verifying, .closed:
                break loop
            }
        }
        // An idle session keeps no input buffer.
        if input?.readableBytes == 0 { input = nil }
    }

    /// A zero-length BDAT chunk completes without input.
    private var isChunkComplete: Bool {
        switch mode {
        case .chunk(let remaining, _), .discardChunk(let remaining, _): remaining == 0
        default: false
        }
    }

    /// Hands text to the writer, but no more than the size limit lets the message grow to:
    /// the session refuses an oversized message at its end anyway.
    private func deliver(_ text: ByteBuffer) {
        guard text.readableBytes > 0, let writer, let textDecoder else { return }
        if textDecoder.summary.size <= session.configuration.maximumMessageSize {
            writer.write(text)
        }
    }

    // MARK: Actions

    func run(_ action: SMTPServerAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .send(let reply):
            send(reply, context: context)
        case .sendAndClose(let replies):
            for reply in replies { send(reply, context: context) }
            close(context: context)
        case .startData(let reply, let envelope):
            send(reply, context: context)
            flushIfNeeded(context: context)
            beginMessage(envelope)
            textDecoder = SMTPDataDecoder(configuration: decoderConfiguration(dotStuffed: true))
            mode = .data
            armTimeout(context: context)
        case .receiveChunk(let size, let last, let envelope, let beginsMessage):
            if beginsMessage {
                beginMessage(envelope)
                textDecoder = SMTPDataDecoder(configuration: decoderConfiguration(dotStuffed: false))
            }
            mode = .chunk(remaining: size, last: last)
            armChunkTimeout(context: context, beginsMessage: beginsMessage)
        case .discardChunk(let size, let reply):
            mode = .discardChunk(remaining: size, reply: reply)
        case .abortMessage(let reply):
            configuration.onMessageRefused?(reply.enhancedCode?.description ?? "\(reply.code)")
            dropMessage()
            armTimeout(context: context)
            send(reply, context: context)
        case .discardMessage(let reply):
            dropMessage()
            armTimeout(context: context)
            send(reply, context: context)
        case .commit(let envelope):
            commit(envelope, context: context)
        case .verifyCredentials(let user, let password):
            verify(user: user, password: password, context: context)
        case .startTLS(let reply):
            send(reply, context: context)
            flushIfNeeded(context: context)
            // RFC 3207 §4.2 / CVE-2011-0411: plaintext pipelined after STARTTLS is dropped.
            input = nil
            mode = .awaitingTLS
            do {
                // The 220 is flushed first: installing TLS before it went out would deadlock.
                negotiatedTLS = try configuration.installTLS?(context.channel)
            } catch {
                logger.error("cannot start TLS", metadata: ["reason": "\(error)"])
                close(context: context)
            }
        }
    }

    /// The machine began a message: the writer lives until it commits, refuses or drops it.
    private func beginMessage(_ envelope: SMTPEnvelope) {
        writer?.abort()  // unreachable while the machine and this driver agree; never leak text
        writer = sink.beginMessage(envelope: envelope, session: info)
    }

    private func dropMessage() {
        writer?.abort()
        writer = nil
        textDecoder = nil
        mode = .command
    }

    private func tlsEstablished(context: ChannelHandlerContext) {
        guard case .awaitingTLS = mode else { return }
        let negotiated = negotiatedTLS?()
        info.tls = negotiated
        session.tlsHandshakeCompleted()
        logger.info(
            "tls established",
            metadata: ["version": "\(negotiated?.version ?? "?")", "cipher": "\(negotiated?.cipher ?? "?")"])
        mode = .command
        if configuration.implicitTLS && !greeted {
            greeted = true
            run(session.connectionEstablished(), context: context)
        }
        armTimeout(context: context)
        flushIfNeeded(context: context)
    }

    /// smtps sessions are greeted once, after their handshake.
    private var greeted = false

    private func commit(_ envelope: SMTPEnvelope, context: ChannelHandlerContext) {
        guard let writer else { preconditionFailure("commit without a message") }
        self.writer = nil
        textDecoder = nil
        mode = .committing
        flushIfNeeded(context: context)
        let loop = context.eventLoop
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        let handler = NIOLoopBound(self, eventLoop: loop)
        writer.commit(envelope: envelope) { result in
            loop.execute {
                handler.value.commitFinished(result, context: boundContext.value)
            }
        }
    }

    private func commitFinished(_ result: Result<String, any Error>, context: ChannelHandlerContext) {
        guard case .committing = mode else { return }  // the connection closed meanwhile
        mode = .command
        switch result {
        case .success(let queueID):
            run(session.commitSucceeded(queueID: queueID), context: context)
        case .failure(let error):
            logger.error("message not stored", metadata: ["reason": "\(error)"])
            configuration.onMessageRefused?("4.3.1")
            run(session.commitFailed(), context: context)
        }
        resumeInput(context: context)
    }

    /// After a read EOF: once what the client sent has been answered, the connection closes
    /// (replies already written go out first). A message whose text was cut off is dropped.
    private func closeIfInputEnded(context: ChannelHandlerContext) {
        guard inputClosed else { return }
        switch mode {
        case .committing, .verifying, .closed:
            return  // answered when the commit or the check finishes; or closing already
        case .command, .data, .chunk, .discardChunk, .awaitingTLS:
            flushIfNeeded(context: context)
            close(context: context)
        }
    }

    /// Goes on after a pause (a commit, a credentials check): input already buffered is
    /// processed, and a read held back by `read(context:)` is passed on.
    func resumeInput(context: ChannelHandlerContext) {
        armTimeout(context: context)
        process(context: context)
        flushIfNeeded(context: context)
        if inputClosed {
            closeIfInputEnded(context: context)
            return
        }
        if readPending, !isClosed {
            readPending = false
            context.read()
        }
    }

    var isClosed: Bool {
        if case .closed = mode { return true }
        return false
    }

    private func decoderConfiguration(dotStuffed: Bool) -> SMTPDataDecoder.Configuration {
        SMTPDataDecoder.Configuration(
            normalizeBareLineFeed: configuration.normalizeBareLineFeed,
            maximumLineLength: configuration.maximumLineLength, dotStuffed: dotStuffed)
    }

    private func send(_ reply: SMTPReply, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 64)
        reply.write(into: &buffer)
        context.write(wrapOutboundOut(buffer), promise: nil)
        wroteSinceFlush = true
    }

    func flushIfNeeded(context: ChannelHandlerContext) {
        guard wroteSinceFlush else { return }
        wroteSinceFlush = false
        context.flush()
    }

    private func close(context: ChannelHandlerContext) {
        mode = .closed
        input = nil
        timeout?.cancel()
        writer?.abort()
        writer = nil
        wroteSinceFlush = false
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension SMTPServerHandler: Sendable {}
