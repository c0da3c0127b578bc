import NIOCore

/// AUTH credentials checked off the event loop (crypt(3) is slow on purpose), input held meanwhile.
extension SMTPServerHandler {
    func verify(user: String, password: String, context: ChannelHandlerContext) {
        guard let verifier = configuration.verifyCredentials else {
            run(session.credentialsChecked(valid: false), context: context)
            return
        }
        mode = .verifying
        flushIfNeeded(context: context)
        let loop = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: loop)
        let boundContext = NIOLoopBound(context, eventLoop: loop)
        verifier(user, password) { valid in
            loop.execute {
                guard case .verifying = handler.value.mode else { return }
                if valid {
                    handler.value.credentialsChecked(valid: true, user: user, context: boundContext.value)
                } else {
                    // A growing delay per failure slows guessing (as Postfix's smtpd does).
                    let delay = TimeAmount.seconds(Int64(handler.value.session.authFailures + 1))
                    loop.scheduleTask(in: delay) {
                        handler.value.credentialsChecked(valid: false, user: user, context: boundContext.value)
                    }
                }
            }
        }
    }

    func credentialsChecked(valid: Bool, user: String, context: ChannelHandlerContext) {
        guard case .verifying = mode else { return }
        mode = .command
        if valid {
            info.authUser = user
            logger.info("authenticated", metadata: ["user": "\(user)"])
        } else {
            logger.notice("authentication failed", metadata: ["user": "\(user)"])
        }
        run(session.credentialsChecked(valid: valid), context: context)
        resumeInput(context: context)
    }
}
