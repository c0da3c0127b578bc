/// The replies the server gives, in one place so that codes and texts stay consistent.
extension SMTPReply {
    public static func greeting(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 220, nil, "\(hostname) ESMTP Relay")
    }
    public static let ok = SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "Ok")
    public static let senderOK = SMTPReply(code: 250, EnhancedStatusCode(2, 1, 0), "Ok")
    public static let recipientOK = SMTPReply(code: 250, EnhancedStatusCode(2, 1, 5), "Ok")
    public static let startMailInput = SMTPReply(code: 354, nil, "End data with <CR><LF>.<CR><LF>")
    public static func bye(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 221, EnhancedStatusCode(2, 0, 0), "\(hostname) closing connection")
    }
    public static func queued(_ queueID: String) -> SMTPReply {
        SMTPReply(code: 250, EnhancedStatusCode(2, 0, 0), "Ok: queued as \(queueID)")
    }
    public static let verifyNotSupported = SMTPReply(
        code: 252, EnhancedStatusCode(2, 0, 0), "Cannot VRFY user, but will accept message and attempt delivery")
    public static let help = SMTPReply(
        code: 214, EnhancedStatusCode(2, 0, 0), "See RFC 5321 and https://www.rfc-editor.org/rfc/rfc5321")

    // 4xx
    public static func shuttingDown(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, EnhancedStatusCode(4, 3, 2), "\(hostname) Service shutting down, closing connection")
    }
    public static func timeout(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, EnhancedStatusCode(4, 4, 2), "\(hostname) Error: timeout exceeded")
    }
    public static func tooManyErrors(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, EnhancedStatusCode(4, 7, 0), "\(hostname) Error: too many errors")
    }
    public static func tooManyConnections(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, EnhancedStatusCode(4, 7, 0), "\(hostname) Error: too many connections")
    }
    public static func tooManyConnectionsFromAddress(_ hostname: String) -> SMTPReply {
        SMTPReply(code: 421, EnhancedStatusCode(4, 7, 0), "\(hostname) Error: too many connections from your address")
    }
    public static let storageFailure = SMTPReply(
        code: 452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage, try again later")
    public static let tooManyRecipients = SMTPReply(code: 452, EnhancedStatusCode(4, 5, 3), "Too many recipients")

    // 5xx
    public static let commandUnrecognized = SMTPReply(code: 500, EnhancedStatusCode(5, 5, 2), "Error: command not recognized")
    public static let commandLineTooLong = SMTPReply(code: 500, EnhancedStatusCode(5, 5, 2), "Error: line too long")
    public static let nulInCommand = SMTPReply(code: 500, EnhancedStatusCode(5, 5, 2), "Error: NUL character in command")
    public static let nulInText = SMTPReply(code: 550, EnhancedStatusCode(5, 6, 0), "Error: NUL character in message text")
    public static let invalidUTF8 = SMTPReply(code: 500, EnhancedStatusCode(5, 5, 2), "Error: invalid UTF-8 in command")
    public static func syntax(_ usage: String) -> SMTPReply {
        SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Syntax: \(usage)")
    }
    public static let notImplemented = SMTPReply(code: 502, EnhancedStatusCode(5, 5, 1), "Error: command not implemented")
    public static func badSequence(_ text: String) -> SMTPReply {
        SMTPReply(code: 503, EnhancedStatusCode(5, 5, 1), "Error: \(text)")
    }
    /// RFC 5321 §4.3.1: the client waits for the greeting; one that talks first is a bulk
    /// sender not listening to replies.
    public static let talkedBeforeGreeting = SMTPReply(
        code: 554, EnhancedStatusCode(5, 5, 0), "Error: data sent before the greeting, closing connection")
    public static let transactionStuffing = SMTPReply(
        code: 554, EnhancedStatusCode(5, 5, 0), "Error: improper command pipelining, closing connection")
    public static let relayDenied = SMTPReply(code: 554, EnhancedStatusCode(5, 7, 1), "Relay access denied")
    public static let messageTooBig = SMTPReply(
        code: 552, EnhancedStatusCode(5, 3, 4), "Error: message size exceeds fixed limit")
    public static let bareLineFeed = SMTPReply(
        code: 550, EnhancedStatusCode(5, 5, 2), "Error: bare <LF> received; lines must end in <CR><LF>")
    public static let bareCarriageReturn = SMTPReply(
        code: 550, EnhancedStatusCode(5, 5, 2), "Error: bare <CR> received; lines must end in <CR><LF>")
    public static let textLineTooLong = SMTPReply(
        code: 550, EnhancedStatusCode(5, 5, 2), "Error: message line too long")
    public static let mailLoop = SMTPReply(
        code: 554, EnhancedStatusCode(5, 4, 6), "Error: too many hops (mail loop)")
    public static let smtputf8Required = SMTPReply(
        code: 553, EnhancedStatusCode(5, 6, 7), "Error: must declare SMTPUTF8 to send a non-ASCII address")
    public static let eightBitWithoutSMTPUTF8 = SMTPReply(
        code: 554, EnhancedStatusCode(5, 6, 7), "Error: non-ASCII in a command requires SMTPUTF8")
}
