import DeliveryCore
import Foundation
import Logging
import NIOCore
import RelayConfig
import RelayDNS
import RelayTLS
import SMTPClient
import SMTPCore
import Spool

/// Where a group of recipients goes: a configured route, or the MX hosts of a domain.
struct Destination: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case route(index: Int)
        case mx(domain: String)
    }

    var kind: Kind

    /// What a loop bounce names: the domain, or the route's hosts.
    func mailDomain(_ configuration: RelayConfiguration) -> String {
        switch kind {
        case .mx(let domain): domain
        case .route(let index): configuration.routes[index].hosts.map(\.description).joined(separator: ", ")
        }
    }

    /// The key that groups recipients and counts concurrency.
    var description: String {
        switch kind {
        case .route(let index): "route#\(index)"
        case .mx(let domain): domain
        }
    }

    /// Routing (SPEC `[[route]]`): the first route whose domains match wins; no match = MX delivery.
    static func of(_ address: String, routes: [Route]) -> Destination {
        let domain = Self.domain(of: address)
        if let index = routes.firstIndex(where: { $0.matches(domain) }) {
            return Destination(kind: .route(index: index))
        }
        return Destination(kind: .mx(domain: domain))
    }

    /// The domain of a recipient address, lowercased.
    static func domain(of address: String) -> String {
        String(address[(address.lastIndex(of: "@").map { address.index(after: $0) } ?? address.startIndex)...]).lowercased()
    }
}

/// A connection kept out of the cache while the end of its last message is held back.
struct HeldDelivery: Sendable {
    let session: SMTPDeliverySession
    let cacheKey: String
    /// Transactions carried so far, the held one included.
    let uses: Int
    let end: HeldEnd
    /// The held message, for logs.
    let queueID: String
}

/// One message's state after `DeliveryAgent.deliver`: its results, or its end held back.
enum DeliveryAttempt: Sendable {
    case done([Int64: AttemptResult])
    case held(HeldDelivery)
}

/// The result of one attempt for one recipient.
struct AttemptResult: Sendable {
    var outcome: ReplyOutcome
    var reply: String
    var relay: String
}

/// Delivers one message's recipients for one destination: finds the hosts, tries them in order
/// (reusing a cached connection when there is one), and maps every reply to an outcome.
/// Connection, greeting, TLS and timeout trouble moves on to the next host; when none is left
/// the recipients are deferred, never bounced for that.
struct DeliveryAgent: Sendable {
    let configuration: RelayConfiguration
    let mx: MXResolver
    let group: any EventLoopGroup
    let cache: ConnectionCache
    let logger: Logger
    let tlsContexts: TLSContextCache
    /// This host's interface addresses, read at start: an MX host at one of them on a
    /// listener's port is this relay (`MailLoop`).
    let localAddresses: [IPAddress]

    /// Delivers one message, after settling the end of an earlier one held back on a connection
    /// (see `SMTPDeliverySession.send(message:recipients:body:after:hold:)`); with `hold`, this
    /// message's end may be held in turn, and the connection with it, for the next call or
    /// `finish`.
    /// - Returns: the earlier message's results (nil without one), and this message's results
    ///   or its held delivery.
    func deliver(
        message: DueMessage, recipients: [DueRecipient], to destination: Destination, body: [Data],
        after held: HeldDelivery?, hold: Bool
    ) async -> (previous: [Int64: AttemptResult]?, current: DeliveryAttempt) {
        func all(_ outcome: ReplyOutcome, _ text: String, relay: String = "none") -> [Int64: AttemptResult] {
            Dictionary(uniqueKeysWithValues: recipients.map { ($0.id, AttemptResult(outcome: outcome, reply: text, relay: relay)) })
        }
        var previous: [Int64: AttemptResult]?
        if let held {
            let (settled, current) = await held.session.send(
                message: message, recipients: recipients, body: body, after: held.end, hold: hold)
            if let settled { previous = results(of: settled, held: held) }
            let concluded = await conclude(
                current, session: held.session, cacheKey: held.cacheKey, uses: held.uses + 1, message: message,
                recipients: recipients)
            // A connection that died under this message before its text: it is tried afresh below.
            if case .attempt(let attempt) = concluded { return (previous, attempt) }
        }
        let route: Route? = if case .route(let index) = destination.kind { configuration.routes[index] } else { nil }
        let policy = route?.tls ?? configuration.delivery.tls
        let context: TLSContext?
        do {
            context = policy == .none && route?.implicitTLS != true
                ? nil : try tlsContexts.context(verify: policy == .verify, caFile: route?.caFile ?? "")
        } catch {
            return (previous, .done(all(.deferred(status: "4.7.5"), "TLS setup failed: \(error)")))
        }
        let credentials: (String, String)?
        do {
            credentials = try route.flatMap(Self.credentials)
        } catch {
            return (previous, .done(all(.deferred(status: "4.7.0"), "cannot read the route's password_file: \(error)")))
        }

        let targets: [Target]
        switch await hosts(for: destination, route: route) {
        case .failure(.permanent(let status, let reason)):
            return (previous, .done(all(.bounced(status: status), reason)))
        case .failure(.temporary(let reason)):
            return (previous, .done(all(.deferred(status: "4.4.3"), reason)))
        case .success(let list):
            targets = MailLoop.hostsBetterThanSelf(list, preference: \.preference) { isOwnListener($0.address, port: $0.port) }
            if targets.isEmpty {
                return (previous, .done(all(.bounced(status: MailLoop.status), MailLoop.reason(destination.mailDomain(configuration)))))
            }
        }

        var lastError = "no host to try"
        for (position, target) in targets.enumerated() {
            let cacheKey = "\(destination)|\(target.address):\(target.port)"
            // A cached connection the server has closed meanwhile is not the host's fault: then
            // the same host is tried once more on a fresh connection.
            var cached = cache.take(cacheKey)
            while true {
                let session: SMTPDeliverySession
                let uses: Int
                if let (reused, count) = cached {
                    session = reused
                    uses = count
                } else {
                    do {
                        session = try await open(target, tls: Self.tlsUse(policy, route: route, context: context, host: target.name))
                    } catch where error.kind == .tlsFailed && policy == .opportunistic {
                        // As Postfix's `may`: a failed handshake means this host gets the mail in plaintext.
                        logger.info("tls failed, retrying in plaintext", metadata: ["id": "\(message.queueID)", "reason": "\(error)"])
                        do {
                            session = try await open(target, tls: TLSUse(policy: .none, implicit: false, install: nil))
                        } catch {
                            lastError = error.description
                            break
                        }
                    } catch {
                        lastError = error.description
                        logger.info("host failed", metadata: ["id": "\(message.queueID)", "reason": "\(error)"])
                        break
                    }
                    uses = 0
                    if MailLoop.announces(configuration.hostname, greeting: session.greeting, ehlo: session.ehloReply) {
                        await session.quit()
                        let reason = MailLoop.reason(destination.mailDomain(configuration)) + " (\(session.relay) greets as \(configuration.hostname))"
                        // Only the best host greeting as us is a loop for certain (Postfix); a
                        // later one may be us reached by another address while better hosts are
                        // down for now: then the mail waits for them.
                        guard position == 0 else {
                            lastError = reason
                            break  // the next host
                        }
                        return (previous, .done(all(.bounced(status: MailLoop.status), reason, relay: session.relay)))
                    }
                    if credentials != nil && !session.encrypted && policy != .none {
                        // Credentials never cross the wire in plaintext unless the route says tls = "none".
                        await session.quit()
                        lastError = "\(session.relay) offers no TLS, and AUTH is never sent in plaintext"
                        break  // the next host
                    }
                    if let credentials, let refusal = await authenticate(session, credentials) {
                        await session.quit()
                        // SPEC: 535 from a smarthost defers, never bounces.
                        return (previous, .done(all(.deferred(status: "4.7.8"), refusal, relay: session.relay)))
                    }
                }
                let sent = await session.send(message: message, recipients: recipients, body: body, after: nil, hold: hold)
                switch await conclude(
                    sent.current, session: session, cacheKey: cacheKey, uses: uses + 1, message: message, recipients: recipients)
                {
                case .attempt(let attempt):
                    return (previous, attempt)
                case .connectionFailed(let reason):
                    lastError = reason
                    if cached != nil {
                        cached = nil
                        continue
                    }
                }
                break
            }
        }
        return (previous, .done(all(.deferred(status: "4.4.1"), lastError)))
    }

    /// Sends a held end, reads its reply, and gives the connection back to the cache.
    func finish(_ held: HeldDelivery) async -> [Int64: AttemptResult] {
        let result = await held.session.finish(held.end)
        if case .completed = result {
            await cache.put(held.cacheKey, held.session, uses: held.uses)
        } else {
            await held.session.connection.close()
        }
        return results(of: result, held: held)
    }

    /// The results of a held message once settled: its replies, or a deferral when the reply to
    /// its final dot was lost.
    private func results(of result: TransactionResult, held: HeldDelivery) -> [Int64: AttemptResult] {
        let relay = held.session.relay
        switch result {
        case .completed(let replies, _):
            return replies.mapValues { AttemptResult(outcome: $0.outcome, reply: $0.reply, relay: relay) }
        case .replyLost(let reason), .connectionFailed(let reason):
            let decided = held.end.results.mapValues { AttemptResult(outcome: $0.outcome, reply: $0.reply, relay: relay) }
            return decided.merging(
                lostAfterData(held.end.accepted.map(\.id), queueID: held.queueID, relay: relay, reason: reason)
            ) { $1 }
        }
    }

    /// What one `send` on `session` came to for this message: its end held, or its results (the
    /// connection then cached again or closed); or a connection that failed before the message's
    /// text, closed, for the caller to try again.
    /// - Parameter uses: transactions the connection has carried, this one included.
    private func conclude(
        _ sent: SendResult, session: SMTPDeliverySession, cacheKey: String, uses: Int, message: DueMessage,
        recipients: [DueRecipient]
    ) async -> Concluded {
        switch sent {
        case .held(let end):
            return .attempt(.held(HeldDelivery(session: session, cacheKey: cacheKey, uses: uses, end: end, queueID: message.queueID)))
        case .finished(.completed(let replies, let reusable)):
            if reusable {
                await cache.put(cacheKey, session, uses: uses)
            } else {
                await session.quit()
            }
            return .attempt(.done(replies.mapValues { AttemptResult(outcome: $0.outcome, reply: $0.reply, relay: session.relay) }))
        case .finished(.replyLost(let reason)):
            await session.connection.close()
            return .attempt(.done(lostAfterData(recipients.map(\.id), queueID: message.queueID, relay: session.relay, reason: reason)))
        case .finished(.connectionFailed(let reason)):
            await session.connection.close()
            logger.info("host failed", metadata: ["id": "\(message.queueID)", "reason": "\(reason)"])
            return .connectionFailed(reason)
        }
    }

    private enum Concluded {
        case attempt(DeliveryAttempt)
        case connectionFailed(String)
    }

    /// The final dot went out but its reply was lost: the server may have taken the message
    /// (RFC 1047), so the recipients are deferred and the log says it may be delivered twice.
    private func lostAfterData(_ recipientIDs: [Int64], queueID: String, relay: String, reason: String) -> [Int64: AttemptResult] {
        logger.warning("possible duplicate", metadata: ["id": "\(queueID)", "relay": "\(relay)", "reason": "\(reason)"])
        let result = AttemptResult(
            outcome: .deferred(status: "4.4.2"), reply: "lost connection after the end of data (\(reason))", relay: relay)
        return Dictionary(uniqueKeysWithValues: recipientIDs.map { ($0, result) })
    }

    /// One address to try: its host's name, the port, and the MX preference (a route's host
    /// position) that orders it.
    struct Target {
        var name: String
        var address: String
        var port: Int
        var preference: Int
    }

    private func open(_ target: Target, tls: TLSUse) async throws(SMTPClientError)
        -> SMTPDeliverySession
    {
        try await SMTPDeliverySession.open(
            hostName: target.name, address: target.address, port: target.port, heloName: configuration.hostname,
            group: group, connectTimeout: TimeAmount(configuration.delivery.connectTimeout),
            timeouts: SMTPClientTimeouts(
                greeting: configuration.delivery.connectTimeout, command: configuration.delivery.commandTimeout,
                dataInitiation: configuration.delivery.commandTimeout, finalDot: configuration.delivery.dataTimeout),
            tls: tls)
    }

    /// The TLS use for one host: its name goes into SNI and, with `verify`, the name check.
    static func tlsUse(_ policy: TLSPolicy, route: Route?, context: TLSContext?, host: String) -> TLSUse {
        let mapped: TLSUse.Policy =
            switch policy {
            case .none: .none
            case .opportunistic: .opportunistic
            case .required: .required
            case .verify: .verify
            }
        let name = host.hasPrefix("[") ? "" : host
        guard let context else { return TLSUse(policy: mapped, implicit: route?.implicitTLS == true, install: nil) }
        @Sendable func install(_ channel: any Channel) throws {
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context, serverName: name), position: .first)
        }
        return TLSUse(policy: mapped, implicit: route?.implicitTLS == true, install: install)
    }

    private enum HostFailure: Error {
        case permanent(status: String, reason: String)
        case temporary(reason: String)
    }

    /// The hosts in the order to try them, each address a target.
    private func hosts(for destination: Destination, route: Route?) async -> Result<[Target], HostFailure> {
        var targets: [Target] = []
        var temporary: String?
        switch destination.kind {
        case .mx(let domain):
            switch await mx.resolve(domain) {
            case .permanent(let status, let reason): return .failure(.permanent(status: status, reason: reason))
            case .temporary(let reason): return .failure(.temporary(reason: reason))
            case .hosts(let hosts):
                for host in hosts {
                    for address in host.addresses {
                        targets.append(Target(name: host.name, address: address, port: configuration.delivery.mxPort, preference: host.preference))
                    }
                }
            }
        case .route:
            // Hosts of a route are tried in order; `[host]` skips the MX lookup.
            for (position, host) in (route?.hosts ?? []).enumerated() {
                let name = host.isLiteral ? "[\(host.host)]" : host.host
                switch await mx.resolve(host.isLiteral ? "[\(host.host)]" : host.host) {
                case .hosts(let found):
                    for entry in found {
                        for address in entry.addresses {
                            targets.append(Target(
                                name: entry.name == name ? host.host : entry.name, address: address, port: host.port,
                                preference: position))
                        }
                    }
                case .temporary(let reason): temporary = reason
                case .permanent(_, let reason): temporary = temporary ?? reason  // a route never bounces for DNS
                }
            }
            if targets.isEmpty { return .failure(.temporary(reason: temporary ?? "no usable route host")) }
        }
        return .success(targets)
    }

    /// Whether `address`:`port` is one of this relay's listeners.
    private func isOwnListener(_ address: String, port: Int) -> Bool {
        guard let ip = IPAddress(address) else { return false }
        return configuration.listeners.contains { $0.address.receives(ip, port: port, localAddresses: localAddresses) }
    }

    /// Reads `username` and the first line of `password_file`.
    private static func credentials(_ route: Route) throws -> (String, String)? {
        guard !route.username.isEmpty else { return nil }
        let text = try String(contentsOfFile: route.passwordFile, encoding: .utf8)
        let password = text.split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return (route.username, password.trimmingCharacters(in: CharacterSet(charactersIn: "\r")))
    }

    /// AUTH PLAIN (RFC 4616), or LOGIN when the server offers only that.
    /// - Returns: why it failed, or nil.
    private func authenticate(_ session: SMTPDeliverySession, _ credentials: (String, String)) async -> String? {
        let timeout = configuration.delivery.commandTimeout
        let offered = session.capabilities.authMechanisms
        do {
            let reply: SMTPReply
            if offered.contains("PLAIN") || !offered.contains("LOGIN") {
                let token = Data("\0\(credentials.0)\0\(credentials.1)".utf8).base64EncodedString()
                reply = try await session.connection.exchange(
                    ByteBuffer(string: "AUTH PLAIN \(token)\r\n"), replies: 1, timeout: timeout)[0]
            } else {
                // RFC 4954 with the LOGIN mechanism: the user name and the password each answer a 334.
                var step = try await session.connection.exchange(
                    ByteBuffer(string: "AUTH LOGIN\r\n"), replies: 1, timeout: timeout)[0]
                for secret in [credentials.0, credentials.1] where step.code == 334 {
                    step = try await session.connection.exchange(
                        ByteBuffer(string: Data(secret.utf8).base64EncodedString() + "\r\n"), replies: 1, timeout: timeout)[0]
                }
                reply = step
            }
            return reply.code == 235 ? nil : "authentication failed: \(ReplyOutcome.text(of: reply))"
        } catch {
            return "authentication failed: \(error)"
        }
    }
}
