import NIOCore

/// The command and data timeouts (RFC 5321 §4.5.3.2) of one session.
extension SMTPServerHandler {
    /// Notes activity. One timer per session re-arms itself from `lastActivity` when it fires,
    /// instead of a new timer per read: scheduling is a heap operation and an allocation.
    func armTimeout(context: ChannelHandlerContext) {
        lastActivity = .now()
        guard timeout == nil, !isClosed else { return }
        scheduleTimeout(at: lastActivity + currentTimeout, context: context)
    }

    private var currentTimeout: TimeAmount {
        switch mode {
        case .data, .chunk, .discardChunk: configuration.dataTimeout
        case .command, .committing, .awaitingTLS, .verifying, .closed: configuration.commandTimeout
        }
    }

    private func scheduleTimeout(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(deadline: deadline) {
            handler.value.timeoutFired(context: boundContext.value)
        }
    }

    private func timeoutFired(context: ChannelHandlerContext) {
        timeout = nil
        guard !isClosed else { return }
        let deadline = lastActivity + currentTimeout
        if case .committing = mode {
            // Waiting for our own storage is not the client's idleness.
            scheduleTimeout(at: .now() + currentTimeout, context: context)
        } else if deadline > .now() {
            scheduleTimeout(at: deadline, context: context)
        } else {
            logger.info("session timed out")
            run(session.timedOut(), context: context)
            flushIfNeeded(context: context)
        }
    }
}
