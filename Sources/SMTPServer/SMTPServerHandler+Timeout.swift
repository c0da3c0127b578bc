import NIOCore

/// The command and data deadlines of one session (RFC 5321 §4.5.3.2), bounded by total time so
/// that a client dripping a byte at a time cannot hold a connection slot for ever (issue 13,
/// hole 4; Postfix's `smtpd_per_request_deadline` and `smtpd_min_data_rate`):
/// - a command line must be complete `commandTimeout` after the server began waiting for it;
///   bytes of an unfinished line do not extend that;
/// - the text of DATA or a BDAT chunk must keep coming: each read extends the deadline by the
///   time its octets take at `minimumDataRate`, never beyond `dataTimeout` from now;
/// - while the listener is under stress (`Configuration.underStress`: most connection slots
///   taken), every wait is cut to `stressTimeout`, as Postfix does under stress.
extension SMTPServerHandler {
    /// Octets per second a client sending message text is credited with (Postfix's default
    /// `smtpd_min_data_rate`).
    public static let minimumDataRate = 500
    /// Every timeout while the listener is under stress (Postfix: `smtpd_timeout` 10s).
    public static let stressTimeout = TimeAmount.seconds(10)

    /// Starts a new wait (a command, the text, a handshake) from now. One timer per session
    /// re-arms itself from `deadline` when it fires, instead of a new timer per event:
    /// scheduling is a heap operation and an allocation.
    func armTimeout(context: ChannelHandlerContext) {
        // The event loop's clock, not the system's: the same in production, virtual in tests.
        deadline = context.eventLoop.now + currentTimeout
        guard !isClosed else { return }
        if let scheduled = timerDeadline, scheduled <= deadline { return }
        // No timer yet, or one due later than the new deadline (text ended, command wait begins).
        timeout?.cancel()
        scheduleTimeout(at: deadline, context: context)
    }

    /// A BDAT chunk's wait: the first chunk of a message starts the text deadline; later ones
    /// go on from where the earlier chunks left it, so that `BDAT 1` plus an octet at a time
    /// does not get a fresh `data_timeout` per chunk.
    func armChunkTimeout(context: ChannelHandlerContext, beginsMessage: Bool) {
        armTimeout(context: context)
        if beginsMessage {
            messageDeadline = deadline
        } else if let carried = messageDeadline, carried < deadline {
            deadline = carried
            moveTimerToDeadline(context: context)
        }
    }

    /// Input arrived: message text earns time at the minimum rate; a command line earns none.
    func creditInput(_ octets: Int, context: ChannelHandlerContext) {
        switch mode {
        case .data, .chunk, .discardChunk:
            let earned = deadline + .nanoseconds(Int64(octets) * 1_000_000_000 / Int64(Self.minimumDataRate))
            deadline = min(earned, context.eventLoop.now + currentTimeout)
            if case .chunk = mode { messageDeadline = deadline }
            // Stress that began mid-text shortens the wait below the scheduled timer: move it.
            moveTimerToDeadline(context: context)
        case .command, .committing, .awaitingTLS, .verifying, .closed:
            break
        }
    }

    /// Brings the timer forward when the deadline moved before it.
    private func moveTimerToDeadline(context: ChannelHandlerContext) {
        guard let scheduled = timerDeadline, deadline < scheduled, !isClosed else { return }
        timeout?.cancel()
        scheduleTimeout(at: deadline, context: context)
    }

    private var currentTimeout: TimeAmount {
        let normal: TimeAmount
        switch mode {
        case .data, .chunk, .discardChunk: normal = configuration.dataTimeout
        case .command, .committing, .awaitingTLS, .verifying, .closed: normal = configuration.commandTimeout
        }
        if let underStress = configuration.underStress, underStress() { return min(normal, Self.stressTimeout) }
        return normal
    }

    private func scheduleTimeout(at when: NIODeadline, context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timerDeadline = when
        timeout = context.eventLoop.scheduleTask(deadline: when) {
            handler.value.timeoutFired(context: boundContext.value)
        }
    }

    private func timeoutFired(context: ChannelHandlerContext) {
        timeout = nil
        timerDeadline = nil
        guard !isClosed else { return }
        if case .committing = mode {
            // Waiting for our own storage is not the client's idleness.
            scheduleTimeout(at: context.eventLoop.now + currentTimeout, context: context)
        } else if deadline > context.eventLoop.now {
            scheduleTimeout(at: deadline, context: context)
        } else {
            logger.info("session timed out", metadata: ["stress": "\(configuration.underStress?() ?? false)"])
            run(session.timedOut(), context: context)
            flushIfNeeded(context: context)
        }
    }
}
