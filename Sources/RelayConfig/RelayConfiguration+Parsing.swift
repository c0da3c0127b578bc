import TOMLKit

#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension RelayConfiguration {
    /// Parses a configuration.
    /// - Parameters:
    ///   - text: The TOML text of `relayd.conf`.
    ///   - source: The file name shown in error messages.
    /// - Returns: The configuration, defaults filled in.
    /// - Throws: ``ConfigurationError`` for the problem that comes first in the file: a TOML
    ///   syntax error, an unknown key or table, a wrong type, or an impossible value.
    ///   - isolation: where to try the parser first, so that a text on which it aborts is an
    ///     error naming the line instead of the end of the caller (see ``TOMLParseIsolation``);
    ///   nil parses in-process only (tests, and texts known to be safe).
    public static func parse(
        _ text: String, source: String, isolation: TOMLParseIsolation? = nil
    ) throws(ConfigurationError) -> RelayConfiguration {
        let (configuration, problems) = Self.decode(text, source: source, isolation: isolation)
        if let first = problems.first { throw first }
        return configuration
    }

    /// Every problem in a configuration, in file order (a syntax error stops the search).
    /// `relayd check-config` can print them all at once; ``parse(_:source:)`` throws the first.
    /// - Parameters:
    ///   - text: The TOML text of `relayd.conf`.
    ///   - source: The file name shown in error messages.
    /// - Returns: The problems; empty when the configuration is valid.
    public static func problems(
        in text: String, source: String, isolation: TOMLParseIsolation? = nil
    ) -> [ConfigurationError] {
        Self.decode(text, source: source, isolation: isolation).problems
    }

    /// Every problem in the file at `path`, in file order (see ``problems(in:source:isolation:)``);
    /// one when the file cannot be read.
    public static func problems(atPath path: String, isolation: TOMLParseIsolation? = nil) -> [ConfigurationError] {
        do {
            return problems(in: try ConfigurationFile.contents(of: path), source: path, isolation: isolation)
        } catch {
            return [error]
        }
    }

    /// What is allowed but probably wrong, one sentence each, for `check-config` to print
    /// without failing.
    public var warnings: [String] {
        var found: [String] = []
        if !hostname.contains(".") {
            found.append(
                "hostname: \"\(hostname)\" has no dot; receivers expect a fully qualified name in EHLO and Message-IDs, "
                    + "and bare local names are qualified with it")
        }
        return found
    }

    /// Reads and parses a configuration file.
    /// - Parameter path: The file, e.g. `/etc/relayd/relayd.conf`; error messages name it as given.
    /// - Returns: The configuration, defaults filled in.
    /// - Throws: ``ConfigurationError`` when the file is missing, unreadable, not UTF-8, or
    ///   invalid (see ``parse(_:source:)``).
    public static func load(path: String, isolation: TOMLParseIsolation? = nil) throws(ConfigurationError) -> RelayConfiguration {
        try Self.parse(try ConfigurationFile.contents(of: path), source: path, isolation: isolation)
    }

    // MARK: - Decoding

    private static func decode(
        _ text: String, source: String, isolation: TOMLParseIsolation? = nil
    ) -> (RelayConfiguration, problems: [ConfigurationError]) {
        let placeholder = RelayConfiguration(hostname: "localhost")
        // TOMLKit hands the text to C++ as a C string, which would end it at a NUL byte.
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].count(where: { $0 == UInt8(ascii: "\n") }) + 1
            return (placeholder, [ConfigurationError(file: source, line: line, reason: "NUL byte in the file")])
        }
        if let line = isolation?.abortLine(of: text) {
            let problem = ConfigurationError(
                file: source, line: line, reason: "TOML syntax error: malformed TOML (the parser cannot read this line)")
            return (placeholder, [problem])
        }
        let table: TOMLTable
        do {
            // XXX: TOMLKit 0.6.0 has no way to free a parsed table: each parse leaks the document.
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let problem = ConfigurationError(
                file: source,
                line: error.source.begin.line,
                reason: "TOML syntax error: \(error.description) (column \(error.source.begin.column))"
            )
            return (placeholder, [problem])
        } catch {
            return (placeholder, [ConfigurationError(file: source, reason: "TOML syntax error: \(error)")])
        }

        let context = DecodingContext(source: source, text: text)
        var root = TableReader(table: table, path: .root, context: context)
        let configuration = Self.decodeRoot(&root)
        root.finish()
        configuration.validate(in: context)
        return (configuration, context.problemsInFileOrder)
    }

    private static func decodeRoot(_ root: inout TableReader) -> RelayConfiguration {
        var hostname: String?
        root.read("hostname", ValueConverter<String>.hostName.optional, into: &hostname)
        // Look the host name up only when the file does not set it: the lookup may query DNS.
        var configuration = RelayConfiguration(hostname: hostname ?? HostName.systemFullyQualified)
        root.read("spool_dir", .nonEmptyString, into: &configuration.spoolDir)
        root.read("run_dir", .nonEmptyString, into: &configuration.runDir)
        if let listeners = root.sections("listener", Self.decodeListener) {
            if listeners.isEmpty {
                root.context.report("needs at least one [[listener]]", at: ConfigPath.root.appending("listener"))
            } else {
                configuration.listeners = listeners
            }
        }
        configuration.tls = root.section("tls", Self.decodeTLS)
        configuration.limits = root.section("limits", Self.decodeLimits) ?? configuration.limits
        configuration.relay = root.section("relay", Self.decodeRelay) ?? configuration.relay
        configuration.auth = root.section("auth", Self.decodeAuth)
        configuration.delivery = root.section("delivery", Self.decodeDelivery) ?? configuration.delivery
        configuration.routes = root.sections("route", Self.decodeRoute) ?? configuration.routes
        configuration.dns = root.section("dns", Self.decodeDNS) ?? configuration.dns
        configuration.metrics = root.section("metrics", Self.decodeMetrics) ?? configuration.metrics
        configuration.log = root.section("log", Self.decodeLog) ?? configuration.log
        return configuration
    }

    private static func decodeListener(_ reader: inout TableReader) -> ListenerConfiguration? {
        let address = reader.require("address", .listenAddress)
        var mode = ListenerMode.smtp
        var requireTLS = false
        var requireAuth: Bool?
        var proxyProtocol = false
        reader.read("mode", .oneOf, into: &mode)
        reader.read("require_tls", .bool, into: &requireTLS)
        reader.read("require_auth", ValueConverter<Bool>.bool.optional, into: &requireAuth)
        reader.read("proxy_protocol", .bool, into: &proxyProtocol)
        guard let address else { return nil }
        return ListenerConfiguration(
            address: address,
            mode: mode,
            requireTLS: requireTLS,
            requireAuth: requireAuth,
            proxyProtocol: proxyProtocol
        )
    }

    private static func decodeTLS(_ reader: inout TableReader) -> TLSConfiguration? {
        let cert = reader.require("cert", .nonEmptyString)
        let key = reader.require("key", .nonEmptyString)
        var minVersion = TLSVersion.v1_2
        reader.read("min_version", .oneOf, into: &minVersion)
        guard let cert, let key else { return nil }
        return TLSConfiguration(cert: cert, key: key, minVersion: minVersion)
    }

    private static func decodeLimits(_ reader: inout TableReader) -> Limits {
        var limits = Limits()
        reader.read("max_message_size", .size(atLeast: 1), into: &limits.maxMessageSize)
        reader.read("max_recipients", .integer(atLeast: 1), into: &limits.maxRecipients)
        reader.read("max_connections", .integer(atLeast: 1), into: &limits.maxConnections)
        reader.read("max_connections_per_ip", .integer(atLeast: 1), into: &limits.maxConnectionsPerIP)
        reader.read("command_timeout", .duration(), into: &limits.commandTimeout)
        reader.read("data_timeout", .duration(), into: &limits.dataTimeout)
        reader.read("max_errors", .integer(atLeast: 1), into: &limits.maxErrors)
        reader.read("bare_newline", .oneOf, into: &limits.bareNewline)
        reader.read("max_line_length", .integer(atLeast: Limits.minimumLineLength), into: &limits.maxLineLength)
        reader.read("max_hops", .integer(atLeast: 1), into: &limits.maxHops)
        reader.read("shutdown_timeout", .duration(allowZero: true), into: &limits.shutdownTimeout)
        return limits
    }

    private static func decodeRelay(_ reader: inout TableReader) -> RelayPolicy {
        let acceptDomain = ValueConverter<DomainPattern>.domainPattern.checked { pattern in
            pattern.matchesEverything
                ? "\"*\" is refused here: it would make an open relay (anyone could send mail anywhere)" : nil
        }
        var relay = RelayPolicy()
        reader.read("allow_networks", ValueConverter<IPNetwork>.network.array, into: &relay.allowNetworks)
        reader.read("accept_domains", acceptDomain.array, into: &relay.acceptDomains)
        reader.read("postmaster", .optionalMailbox, into: &relay.postmaster)
        reader.read("trusted_proxies", ValueConverter<IPNetwork>.network.array, into: &relay.trustedProxies)
        return relay
    }

    private static func decodeAuth(_ reader: inout TableReader) -> AuthConfiguration? {
        reader.require("users_file", .nonEmptyString).map(AuthConfiguration.init(usersFile:))
    }

    private static func decodeDelivery(_ reader: inout TableReader) -> DeliveryConfiguration {
        var delivery = DeliveryConfiguration()
        reader.read("concurrency", .integer(atLeast: 1), into: &delivery.concurrency)
        reader.read("per_destination_concurrency", .integer(atLeast: 1), into: &delivery.perDestinationConcurrency)
        reader.read("connect_timeout", .duration(), into: &delivery.connectTimeout)
        reader.read("command_timeout", .duration(), into: &delivery.commandTimeout)
        reader.read("data_timeout", .duration(), into: &delivery.dataTimeout)
        reader.read("tls", .oneOf, into: &delivery.tls)
        reader.read("min_backoff", .duration(), into: &delivery.minBackoff)
        reader.read("max_backoff", .duration(), into: &delivery.maxBackoff)
        reader.read("max_queue_lifetime", .duration(), into: &delivery.maxQueueLifetime)
        reader.read("delay_warning", .durationOrDisabled, into: &delivery.delayWarning)
        reader.read("max_rcpt_per_transaction", .integer(atLeast: 1), into: &delivery.maxRcptPerTransaction)
        reader.read("mx_port", .integer(1...65535), into: &delivery.mxPort)
        return delivery
    }

    private static func decodeRoute(_ reader: inout TableReader) -> Route? {
        let domains = reader.require(
            "domains",
            ValueConverter<DomainPattern>.domainPattern.array.checked(Self.nonEmptyList)
        )
        let hosts = reader.require("hosts", ValueConverter<RouteHost>.routeHost.array.checked(Self.nonEmptyList))
        // The optional keys are read (and checked) even when a required one is missing.
        var route = Route(domains: domains ?? [], hosts: hosts ?? [])
        reader.read("tls", ValueConverter<TLSPolicy>.oneOf.optional, into: &route.tls)
        reader.read("implicit_tls", .bool, into: &route.implicitTLS)
        reader.read("ca_file", .string, into: &route.caFile)
        reader.read("username", .string, into: &route.username)
        reader.read("password_file", .string, into: &route.passwordFile)
        return domains == nil || hosts == nil ? nil : route
    }

    private static func nonEmptyList<Element>(_ list: [Element]) -> String? {
        list.isEmpty ? "must list at least one entry" : nil
    }

    private static func decodeDNS(_ reader: inout TableReader) -> DNSConfiguration {
        var dns = DNSConfiguration()
        reader.read("servers", ValueConverter<String>.dnsServer.array, into: &dns.servers)
        reader.read("timeout", .duration(), into: &dns.timeout)
        return dns
    }

    private static func decodeMetrics(_ reader: inout TableReader) -> MetricsConfiguration {
        var metrics = MetricsConfiguration()
        reader.read("address", .optionalListenAddress, into: &metrics.address)
        return metrics
    }

    private static func decodeLog(_ reader: inout TableReader) -> LogConfiguration {
        var log = LogConfiguration()
        reader.read("level", .oneOf, into: &log.level)
        reader.read("format", .oneOf, into: &log.format)
        return log
    }

    // MARK: - Rules across keys

    /// Reports combinations of keys that cannot work, each at the key to change.
    private func validate(in context: DecodingContext) {
        let listenerArray = ConfigPath.root.appending("listener")
        for (index, listener) in self.listeners.enumerated() {
            let path = listenerArray.appending(index: index)
            if listener.mode == .smtps, self.tls == nil {
                context.report("mode \"smtps\" needs a [tls] section (a certificate)", at: path.appending("mode"))
            } else if listener.requireTLS, self.tls == nil {
                context.report(
                    "needs a [tls] section (a certificate) to offer STARTTLS",
                    at: path.appending("require_tls")
                )
            } else if listener.requireAuth, self.tls == nil {
                context.report(
                    "needs a [tls] section: AUTH is offered only over TLS" + self.defaultNote(listener),
                    at: path.appending("require_auth")
                )
            }
            if listener.requireAuth, self.auth == nil {
                context.report(
                    "needs an [auth] section (users_file)" + self.defaultNote(listener),
                    at: path.appending("require_auth")
                )
            }
            if listener.proxyProtocol, self.relay.trustedProxies.isEmpty {
                context.report(
                    "needs [relay] trusted_proxies: PROXY headers are accepted only from those sources",
                    at: path.appending("proxy_protocol")
                )
            }
            if let earlier = self.listeners[..<index].firstIndex(where: { $0.address.overlaps(listener.address) }) {
                context.report("the same address as listener[\(earlier)]", at: path.appending("address"))
            }
        }
        if let metrics = self.metrics.address,
            let clash = self.listeners.firstIndex(where: { $0.address.overlaps(metrics) })
        {
            context.report(
                "the same address as listener[\(clash)]",
                at: ConfigPath([.key("metrics"), .key("address")])
            )
        }

        if self.delivery.maxBackoff < self.delivery.minBackoff {
            context.report(
                "must not be shorter than min_backoff (\(DurationSyntax.format(self.delivery.minBackoff)))",
                at: ConfigPath([.key("delivery"), .key("max_backoff")])
            )
        }

        let routeArray = ConfigPath.root.appending("route")
        for (index, route) in self.routes.enumerated() {
            let path = routeArray.appending(index: index)
            if !route.username.isEmpty, route.passwordFile.isEmpty {
                context.report("needs password_file", at: path.appending("username"))
            }
            if route.username.isEmpty, !route.passwordFile.isEmpty {
                context.report("needs username", at: path.appending("password_file"))
            }
            if route.implicitTLS, (route.tls ?? self.delivery.tls) == .none {
                let origin = route.tls == nil ? " (from [delivery] tls)" : ""
                context.report("cannot be true with tls = \"none\"\(origin)", at: path.appending("implicit_tls"))
            }
        }
    }

    private func defaultNote(_ listener: ListenerConfiguration) -> String {
        ListenerConfiguration.requiresAuthByDefault(listener.mode)
            ? " (require_auth is true by default for \(listener.mode.rawValue) listeners)" : ""
    }
}

/// Reading `relayd.conf` from disk.
enum ConfigurationFile {
    /// Files larger than this are refused: a configuration is a few kilobytes, and `-c /dev/zero`
    /// should not fill the memory.
    static let maximumSize = 16 << 20

    /// The file's text.
    /// - Throws: ``ConfigurationError`` naming the file when it cannot be opened or read, is
    ///   too large, or is not UTF-8.
    static func contents(of path: String) throws(ConfigurationError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw Self.systemError(path) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Self.systemError(path)
            }
            if count == 0 { break }
            bytes += chunk[..<count]
            guard bytes.count <= Self.maximumSize else {
                throw ConfigurationError(file: path, reason: "the file is larger than 16 MiB; is it the right file?")
            }
        }
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        // Name the first line that is not UTF-8.
        var line = 1
        for slice in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            if String(validating: slice, as: UTF8.self) == nil { break }
            line += 1
        }
        throw ConfigurationError(file: path, line: line, reason: "the file is not valid UTF-8")
    }

    private static func systemError(_ path: String) -> ConfigurationError {
        ConfigurationError(file: path, reason: "cannot read the file: \(String(cString: strerror(errno)))")
    }
}
