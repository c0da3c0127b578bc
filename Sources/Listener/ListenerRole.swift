import Control
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RelayConfig
import RelayDNS
import RelayMetrics
import RelayTLS
import SMTPCore
import SMTPServer
import ServiceLifecycle
import Spool

/// The listener role (`relayd listener`): accepts mail on every `[[listener]]` and commits it to
/// the spool before answering `250`. On graceful shutdown it stops accepting, closes idle
/// sessions with `421`, lets open transactions finish until `shutdown_timeout`, then ends.
public final class ListenerRole: Service {
    /// The configuration new sessions use; `reload` replaces it.
    private let current: NIOLockedValueBox<RelayConfiguration>
    private let configuration: RelayConfiguration
    private let spool: Spool
    private let group: any EventLoopGroup
    private let logger: Logger
    private let limiter: ConnectionLimiter
    /// Failed AUTH per client address, across sessions (and across reloads).
    private let authFailures = AuthFailureTracker()
    private let registry = SessionRegistry()
    private let sessionIDs = SessionIDGenerator()
    private let sink: SpoolMessageSink
    private let postmaster: Mailbox
    private let kicker: KickSender
    private let names: ClientNameResolver?

    /// - Parameters:
    ///   - configuration: the effective configuration.
    ///   - spool: the opened spool.
    ///   - group: event loops for the sessions.
    /// Told once every listening socket is bound.
    private let onReady: @Sendable () -> Void
    private let metrics: RelayMetrics?
    /// The listener certificate, swapped whole on reload; nil without `[tls]`.
    private let tls: NIOLockedValueBox<TLSContext?>
    /// The `[auth]` users, re-read on reload; nil without `[auth]`.
    private let users: NIOLockedValueBox<UsersFile?>

    public init(
        configuration: RelayConfiguration, spool: Spool, group: any EventLoopGroup, logger: Logger,
        onReady: @escaping @Sendable () -> Void = {}, metrics: RelayMetrics? = nil
    ) throws {
        self.metrics = metrics
        self.tls = NIOLockedValueBox(try configuration.tls.map(Self.makeTLSContext))
        self.users = NIOLockedValueBox(try configuration.auth.map { auth throws(UsersFileError) in try UsersFile.load(auth.usersFile) })
        self.configuration = configuration
        self.current = NIOLockedValueBox(configuration)
        self.onReady = onReady
        self.spool = spool
        self.group = group
        self.logger = logger
        self.limiter = ConnectionLimiter(
            maximumTotal: configuration.limits.maxConnections,
            maximumPerAddress: configuration.limits.maxConnectionsPerIP)
        // Reverse lookups for Received: headers; without a resolver every client is `unknown`.
        names = (try? DNSResolver(
            configuration: DNSResolver.Configuration(servers: configuration.dns.servers, timeout: configuration.dns.timeout)
        )).map(ClientNameResolver.init)
        let kicker = KickSender(socketPath: configuration.runDir + "/" + ControlProtocol.socketName, logger: logger)
        self.kicker = kicker
        self.sink = SpoolMessageSink(
            spool: spool, hostname: configuration.hostname, allocator: ByteBufferAllocator(), logger: logger,
            onCommitted: { [metrics] in
                kicker.kick()
                metrics?.messagesAccepted.increment()
            })
        let address = configuration.postmasterAddress
        if let at = address.lastIndex(of: "@") {
            postmaster = Mailbox(localPart: String(address[..<at]), domain: String(address[address.index(after: at)...]))
        } else {
            postmaster = Mailbox(localPart: address, domain: configuration.hostname)
        }
    }

    public func run() async throws {
        var servers: [any Channel] = []
        for listener in configuration.listeners {
            let server = try await SMTPServerBootstrap.bind(
                host: listener.address.host, port: listener.address.port, group: group, logger: logger
            ) { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if listener.proxyProtocol {
                        try expectProxyHeader(channel, listener: listener)
                    } else {
                        try setUpSession(channel, listener: listener, client: channel.remoteAddress)
                    }
                }
            }
            logger.notice(
                "listening",
                metadata: [
                    "address": "\(server.localAddress.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "\(listener.address)")",
                    "mode": "\(listener.mode.rawValue)",
                ])
            servers.append(server)
        }
        onReady()
        // relayctl status reads this file: the listener has no control socket of its own.
        let statusPath = configuration.runDir + "/listener.status"
        let started = Int(Date().timeIntervalSince1970)
        let registry = registry
        let (spool, metrics) = (spool, metrics)
        let statusTask = group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(1)) { _ in
            let replaced = !spool.isStillOnDisk
            metrics?.spoolReplaced.set(Double(replaced ? 1 : 0))
            let text = "{\"pid\":\(getpid()),\"up_since\":\(started),\"sessions\":\(registry.count),\"spool_replaced\":\(replaced)}\n"
            try? Data(text.utf8).write(to: URL(fileURLWithPath: statusPath), options: .atomic)
        }
        // Wait for SIGTERM (graceful shutdown) or cancellation.
        try? await gracefulShutdown()
        statusTask.cancel()
        unlink(statusPath)
        logger.notice("shutting down", metadata: ["sessions": "\(registry.count)"])
        for server in servers { try? await server.close() }
        registry.broadcast(SMTPShutdownRequested())
        let deadline = ContinuousClock.now + configuration.limits.shutdownTimeout
        while registry.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        if registry.count > 0 {
            registry.broadcast(SMTPShutdownDeadlinePassed())
            let grace = ContinuousClock.now + .seconds(2)
            while registry.count > 0 && ContinuousClock.now < grace {
                try? await Task.sleep(for: .milliseconds(50))
            }
        }
        spool.close()
        kicker.stop()
        logger.notice("stopped")
    }

    /// Applies a new configuration to new sessions: limits, access rules, hostname. Listening
    /// addresses, connection counts and the spool stay as they were started; a change there
    /// needs a restart, and the log says so.
    public func reload(_ new: RelayConfiguration) {
        do {
            // SIGHUP re-reads the certificate and key; a bad pair keeps the old one in use.
            let context = try new.tls.map(Self.makeTLSContext)
            tls.withLockedValue { $0 = context }
        } catch {
            logger.error("reload: TLS files refused; keeping the old certificate", metadata: ["reason": "\(error)"])
        }
        do {
            let loaded = try new.auth.map { auth throws(UsersFileError) in try UsersFile.load(auth.usersFile) }
            users.withLockedValue { $0 = loaded }
        } catch {
            logger.error("reload: users file refused; keeping the old users", metadata: ["reason": "\(error)"])
        }
        current.withLockedValue { $0 = new }
        if new.listeners.map(\.address) != configuration.listeners.map(\.address) || new.spoolDir != configuration.spoolDir {
            logger.warning("reload: listener addresses or spool_dir changed; restart to apply them")
        }
        if new.limits.maxConnections != configuration.limits.maxConnections
            || new.limits.maxConnectionsPerIP != configuration.limits.maxConnectionsPerIP
        {
            logger.warning("reload: connection limits changed; restart to apply them")
        }
        logger.notice("reloaded")
    }

    /// Checks credentials against `users` on a global queue: crypt(3) takes tens of
    /// milliseconds by design, which must never stall an event loop. An address with too many
    /// recent failures fails at once, its password unchecked (`AuthFailureTracker`).
    static func verifier(_ users: UsersFile, client: String, failures: AuthFailureTracker) -> CredentialsVerifier {
        { (user: String, password: String, done: @escaping @Sendable (Bool) -> Void) in
            DispatchQueue.global().async {
                let valid = failures.mayTry(client) && users.matches(user: user, password: password)
                if !valid { failures.failed(client) }
                done(valid)
            }
        }
    }

    /// Counts a refused message under its enhanced status code.
    static func rejectionCounter(_ metrics: RelayMetrics) -> @Sendable (String) -> Void {
        { (reason: String) in metrics.messagesRejected(reason: reason).increment() }
    }

    /// Installs a server TLS handler with `context` and reads back what it negotiated.
    static func tlsInstaller(_ context: TLSContext) -> TLSInstaller {
        { (channel: any Channel) throws -> TLSNegotiationReader in
            let handler = TLSHandler(context: context)
            try channel.pipeline.syncOperations.addHandler(handler, position: .first)
            let bound = NIOLoopBound(handler, eventLoop: channel.eventLoop)
            return { () -> (version: String, cipher: String)? in
                bound.value.negotiated.map { (version: $0.version, cipher: $0.cipher) }
            }
        }
    }

    /// Loads the files the listener reads at start (certificate, key, users file) as it would,
    /// for `check-config`. - Throws: the error the listener would refuse to start with.
    public static func loadFiles(_ configuration: RelayConfiguration) throws {
        _ = try configuration.tls.map(makeTLSContext)
        _ = try configuration.auth.map { auth throws(UsersFileError) in try UsersFile.load(auth.usersFile) }
    }

    /// Bytes free for an unprivileged writer on the file system of `path` (statvfs), nil when
    /// it cannot be asked (then nothing is refused for it: the commit still checks).
    static func freeBytes(_ path: String) -> Int? {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { return nil }
        return Int(info.f_bavail) * Int(info.f_frsize)
    }

    static func makeTLSContext(_ tls: TLSConfiguration) throws(TLSError) -> TLSContext {
        try TLSContext(serverCertificate: tls.cert, key: tls.key, minimum: tls.minVersion == .v1_3 ? .tls13 : .tls12)
    }

    /// How long a proxy may take to send its PROXY header (Postfix's smtpd_upstream_proxy_timeout).
    static let proxyHeaderTimeout = TimeAmount.seconds(5)

    /// A `proxy_protocol` listener: only `trusted_proxies` may connect, and the session is set up
    /// for the client their PROXY header names (limits, relay permission, Received:, logs).
    private func expectProxyHeader(_ channel: any Channel, listener: ListenerConfiguration) throws {
        let configuration = current.withLockedValue { $0 }
        let peer = channel.remoteAddress?.ipAddress ?? "unknown"
        let trusted = IPAddress(peer).map { ip in configuration.relay.trustedProxies.contains { $0.contains(ip) } } ?? false
        guard trusted else {
            logger.warning("connection refused", metadata: ["client": "[\(peer)]", "reason": "not a trusted proxy"])
            refuse(channel, SMTPReply(code: 554, EnhancedStatusCode(5, 7, 1), "\(configuration.hostname) not a trusted proxy"))
            return
        }
        let logger = logger
        let handler = ProxyProtocolHandler(
            timeout: Self.proxyHeaderTimeout,
            onRefused: { reason in
                logger.warning("proxy header refused", metadata: ["proxy": "[\(peer)]", "reason": "\(reason)"])
            },
            accept: { [self] channel, client in
                try setUpSession(channel, listener: listener, client: client ?? channel.remoteAddress)
            })
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Sets up one SMTP session on the channel's event loop.
    /// - Parameter client: the client's address: the TCP peer, or the one a PROXY header named.
    private func setUpSession(_ channel: any Channel, listener: ListenerConfiguration, client: SocketAddress?) throws {
        let configuration = current.withLockedValue { $0 }
        let address = client?.ipAddress ?? "unknown"
        let port = client?.port ?? 0
        switch limiter.admit(address) {
        case .admitted:
            break
        case .tooManyConnections:
            logger.warning("connection refused", metadata: ["client": "[\(address)]", "reason": "max_connections"])
            metrics?.smtpRejects(stage: "CONNECT").increment()
            return refuse(channel, .tooManyConnections(configuration.hostname))
        case .tooManyFromAddress:
            logger.warning("connection refused", metadata: ["client": "[\(address)]", "reason": "max_connections_per_ip"])
            metrics?.smtpRejects(stage: "CONNECT").increment()
            return refuse(channel, .tooManyConnectionsFromAddress(configuration.hostname))
        }
        if limiter.stressBegan() {
            logger.warning("under stress: most connection slots taken; session timeouts cut to 10s", metadata: [
                "sessions": "\(limiter.total)", "max_connections": "\(configuration.limits.maxConnections)",
            ])
        }
        registry.add(channel)
        let limiter = limiter
        let registry = registry
        let metrics = metrics
        metrics?.sessionsActive.increment()
        channel.closeFuture.whenComplete { _ in
            limiter.release(address)
            registry.remove(channel)
            metrics?.sessionsActive.decrement()
        }
        let sessionID = sessionIDs.next()
        let clientName = SMTPClientName(names?.knownName(for: address) ?? "unknown")
        if let names, names.knownName(for: address) == nil {
            // Bridges the lookup to the session: the name is read when a message begins.
            Task { clientName.name = await names.name(for: address) }
        }
        let clientMayRelay = IPAddress(address).map { ip in
            configuration.relay.allowNetworks.contains { $0.contains(ip) }
        } ?? false
        let normalize: Bool
        switch configuration.limits.bareNewline {
        case .normalize: normalize = true
        case .reject: normalize = false
        case .rejectRemote: normalize = clientMayRelay
        }
        let acceptDomains = configuration.relay.acceptDomains
        let tlsContext = tls.withLockedValue { $0 }
        let verifyCredentials = users.withLockedValue { $0 }.map {
            Self.verifier($0, client: client?.ipAddress ?? "unknown", failures: authFailures)
        }
        let installTLS = tlsContext.map(Self.tlsInstaller)
        let session = SMTPServerSession(
            configuration: SMTPServerSession.Configuration(
                hostname: configuration.hostname, maximumMessageSize: configuration.limits.maxMessageSize,
                maximumRecipients: configuration.limits.maxRecipients, maximumErrors: configuration.limits.maxErrors,
                maximumHops: configuration.limits.maxHops, clientMayRelay: clientMayRelay,
                acceptsDomain: { domain in acceptDomains.contains { $0.matches(domain) } },
                postmaster: postmaster, tlsAvailable: tlsContext != nil, authAvailable: configuration.auth != nil,
                requireTLS: listener.requireTLS, requireAuth: listener.requireAuth,
                storageHasRoom: { [spoolDir = configuration.spoolDir] bytes in Self.freeBytes(spoolDir).map { $0 >= bytes } ?? true }))
        var sessionLogger = logger
        sessionLogger[metadataKey: "session"] = "\(sessionID)"
        let handler = SMTPServerHandler(
            session: session,
            configuration: SMTPServerHandler.Configuration(
                commandTimeout: TimeAmount(configuration.limits.commandTimeout),
                dataTimeout: TimeAmount(configuration.limits.dataTimeout), normalizeBareLineFeed: normalize,
                maximumLineLength: configuration.limits.maxLineLength, installTLS: installTLS,
                implicitTLS: listener.mode == .smtps, verifyCredentials: verifyCredentials,
                onMessageRefused: metrics.map(Self.rejectionCounter), refuseEarlyTalkers: !listener.proxyProtocol,
                underStress: { [limiter] in limiter.underStress },
                onRefusal: Self.refusalCounter(metrics)),
            sink: sink,
            info: SMTPSessionInfo(
                sessionID: sessionID, clientAddress: address, clientPort: port,
                listenerName: "\(listener.address)", clientName: clientName),
            logger: sessionLogger)
        try channel.pipeline.syncOperations.addHandler(handler)
    }

    /// Counts each refusal by stage (`relay_smtp_rejects_total`).
    private static func refusalCounter(_ metrics: RelayMetrics?) -> (@Sendable (String) -> Void)? {
        guard let metrics else { return nil }
        return { stage in metrics.smtpRejects(stage: stage).increment() }
    }

    /// Answers with `reply` and closes.
    private func refuse(_ channel: any Channel, _ reply: SMTPReply) {
        var buffer = channel.allocator.buffer(capacity: 80)
        reply.write(into: &buffer)
        channel.writeAndFlush(buffer).whenComplete { _ in channel.close(promise: nil) }
    }
}
