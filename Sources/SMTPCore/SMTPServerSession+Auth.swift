/// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, offered only over TLS.
extension SMTPServerSession {
    mutating func auth(mechanism: String, initialResponse: String?) -> SMTPServerAction {
        if configuration.requireTLS && !tlsActive {
            return error(SMTPReply(code: 530, EnhancedStatusCode(5, 7, 0), "Must issue a STARTTLS command first"))
        }
        guard configuration.authAvailable else { return error(.badSequence("authentication not enabled")) }
        // AUTH is accepted only over TLS (RFC 4954 §4, SPEC): no credentials are read before.
        guard tlsActive else {
            return error(SMTPReply(code: 538, EnhancedStatusCode(5, 7, 11), "Encryption required for requested authentication mechanism"))
        }
        guard authenticatedUser == nil else { return error(.badSequence("already authenticated")) }
        let hello: Hello
        switch state {
        case .ready(let current): hello = current
        case .awaitingHello: return error(.badSequence("send HELO/EHLO first"))
        case .transaction: return error(.badSequence("MAIL transaction in progress"))
        case .receivingData, .receivingChunk, .committing, .authenticating, .closed:
            preconditionFailure("command while reading message text")
        }
        let kind: SASLExchange.Mechanism
        switch mechanism {
        case "PLAIN": kind = .plain
        case "LOGIN": kind = .login
        default: return error(SMTPReply(code: 504, EnhancedStatusCode(5, 5, 4), "Unrecognized authentication type"))
        }
        let exchange = SASLExchange(mechanism: kind, user: nil)
        guard let initialResponse else {
            state = .authenticating(hello, exchange)
            return .send(SMTPReply(code: 334, nil, kind == .plain ? "" : "VXNlcm5hbWU6"))  // "Username:"
        }
        // RFC 4954 §4: "=" is an empty initial response.
        return saslResponse(Array((initialResponse == "=" ? "" : initialResponse).utf8), hello: hello, exchange: exchange)
    }

    mutating func saslResponse(_ line: [UInt8], hello: Hello, exchange: SASLExchange) -> SMTPServerAction {
        state = .ready(hello)
        let text = String(decoding: line, as: UTF8.self)
        if text == "*" { return error(SMTPReply(code: 501, EnhancedStatusCode(5, 0, 0), "Authentication aborted")) }
        guard let decoded = Base64.decode(Substring(text)) else {
            return error(SMTPReply(code: 501, EnhancedStatusCode(5, 5, 2), "Invalid base64 data"))
        }
        switch exchange.mechanism {
        case .plain:
            // RFC 4616: [authzid] NUL authcid NUL passwd
            let parts = decoded.split(separator: 0, omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[1].isEmpty,
                let user = String(validating: parts[1], as: UTF8.self),
                let password = String(validating: parts[2], as: UTF8.self)
            else { return error(SMTPReply(code: 501, EnhancedStatusCode(5, 5, 2), "Invalid PLAIN response")) }
            // RFC 4616 §2: an authorization identity other than the user's own asks to act as
            // someone else, which no user here may: refused without checking the password.
            if !parts[0].isEmpty, parts[0] != parts[1] {
                return authenticationRefused(
                    SMTPReply(code: 535, EnhancedStatusCode(5, 7, 8), "Authorization identity not permitted"))
            }
            state = .authenticating(hello, SASLExchange(mechanism: .plain, user: user))
            return .verifyCredentials(user: user, password: password)
        case .login:
            guard let value = String(validating: decoded, as: UTF8.self) else {
                return error(SMTPReply(code: 501, EnhancedStatusCode(5, 5, 2), "Invalid LOGIN response"))
            }
            guard let user = exchange.user else {
                state = .authenticating(hello, SASLExchange(mechanism: .login, user: value))
                return .send(SMTPReply(code: 334, nil, "UGFzc3dvcmQ6"))  // "Password:"
            }
            state = .authenticating(hello, SASLExchange(mechanism: .login, user: user, checking: true))
            return .verifyCredentials(user: user, password: value)
        }
    }

    /// The credentials of the pending AUTH were checked.
    public mutating func credentialsChecked(valid: Bool) -> SMTPServerAction {
        guard case .authenticating(let hello, let exchange) = state, let user = exchange.user else {
            preconditionFailure("credentialsChecked outside AUTH")
        }
        state = .ready(hello)
        if valid {
            authenticatedUser = user
            return .send(SMTPReply(code: 235, EnhancedStatusCode(2, 7, 0), "Authentication successful"))
        }
        return authenticationRefused(SMTPReply(code: 535, EnhancedStatusCode(5, 7, 8), "Authentication credentials invalid"))
    }

    /// A failed AUTH: counted, and the last allowed one ends the session.
    private mutating func authenticationRefused(_ refusal: SMTPReply) -> SMTPServerAction {
        authFailures += 1
        if authFailures >= Self.maximumAuthFailures {
            state = .closed
            return .sendAndClose([refusal, SMTPReply(code: 421, EnhancedStatusCode(4, 7, 0), "\(configuration.hostname) Error: too many authentication failures")])
        }
        return .send(refusal)
    }
}
