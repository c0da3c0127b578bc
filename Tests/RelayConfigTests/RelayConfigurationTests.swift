import RelayConfig
import Testing

@Suite struct RelayConfigurationTests {
    @Test func defaultsAreTheSpecDefaults() throws {
        let configuration = RelayConfiguration(hostname: "relay.test")
        #expect(configuration.spoolDir == "/var/spool/relayd")
        #expect(configuration.runDir == "/run/relayd")
        #expect(configuration.listeners.count == 1)
        let listener = try #require(configuration.listeners.first)
        #expect(listener.address == ListenAddress(host: "127.0.0.1", port: 25))
        #expect(listener.mode == .smtp)
        #expect(!listener.requireTLS && !listener.requireAuth && !listener.proxyProtocol)
        #expect(configuration.tls == nil)
        #expect(configuration.auth == nil)
        #expect(configuration.routes.isEmpty)

        let limits = configuration.limits
        #expect(limits.maxMessageSize == 50_000_000)
        #expect(limits.maxRecipients == 100)
        #expect(limits.maxConnections == 1000)
        #expect(limits.maxConnectionsPerIP == 20)
        #expect(limits.commandTimeout == .seconds(300))
        #expect(limits.dataTimeout == .seconds(600))
        #expect(limits.maxErrors == 10)
        #expect(limits.bareNewline == .rejectRemote)
        #expect(limits.maxLineLength == 1000)
        #expect(limits.maxHops == 100)
        #expect(limits.shutdownTimeout == .seconds(30))

        #expect(configuration.relay.allowNetworks.map(\.description) == ["127.0.0.0/8", "::1/128"])
        #expect(configuration.relay.acceptDomains.isEmpty)
        #expect(configuration.relay.postmaster == "")
        #expect(configuration.relay.trustedProxies.isEmpty)

        let delivery = configuration.delivery
        #expect(delivery.concurrency == 100)
        #expect(delivery.perDestinationConcurrency == 20)
        #expect(delivery.connectTimeout == .seconds(30))
        #expect(delivery.tls == .opportunistic)
        #expect(delivery.minBackoff == .seconds(300))
        #expect(delivery.maxBackoff == .seconds(3600))
        #expect(delivery.maxQueueLifetime == .seconds(5 * 86_400))
        #expect(delivery.delayWarning == .seconds(4 * 3600))
        #expect(delivery.maxRcptPerTransaction == 100)
        #expect(delivery.mxPort == 25)

        #expect(configuration.dns.servers.isEmpty)
        #expect(configuration.dns.timeout == .seconds(5))
        #expect(configuration.metrics.address == nil)
        #expect(configuration.log.level == .info)
        #expect(configuration.log.format == .logfmt)
    }

    @Test func anEmptyFileGivesTheDefaults() throws {
        let parsed = try RelayConfiguration.parse("", source: "relayd.conf")
        #expect(parsed == RelayConfiguration())
        #expect(!parsed.hostname.isEmpty)
        #expect(try Fixtures.parse("") == RelayConfiguration(hostname: "relay.test"))
    }

    @Test func theSpecExampleParses() throws {
        let configuration = try RelayConfiguration.parse(Fixtures.specExample, source: "relayd.conf")
        #expect(configuration.hostname == "relay.example.com")
        #expect(configuration.spoolDir == "/var/spool/relayd")
        #expect(configuration.runDir == "/run/relayd")
        #expect(
            configuration.listeners == [
                ListenerConfiguration(
                    address: ListenAddress(host: "0.0.0.0", port: 25),
                    mode: .smtp,
                    requireTLS: false,
                    requireAuth: false,
                    proxyProtocol: false
                )
            ]
        )
        #expect(
            configuration.tls
                == TLSConfiguration(cert: "/etc/relayd/tls/cert.pem", key: "/etc/relayd/tls/key.pem", minVersion: .v1_2)
        )
        // Every [limits], [relay], [delivery], [dns], [metrics] and [log] value of the example is
        // the default.
        var expected = RelayConfiguration(hostname: "relay.example.com")
        #expect(configuration.limits == expected.limits)
        #expect(configuration.relay == expected.relay)
        #expect(configuration.delivery == expected.delivery)
        #expect(configuration.dns == expected.dns)
        #expect(configuration.metrics == expected.metrics)
        #expect(configuration.log == expected.log)
        #expect(configuration.auth == AuthConfiguration(usersFile: "/etc/relayd/users"))
        #expect(
            configuration.routes == [
                Route(
                    domains: [.any],
                    hosts: [RouteHost(host: "smtp.provider.net", port: 587)],
                    tls: .verify,
                    implicitTLS: false,
                    caFile: "",
                    username: "relay",
                    passwordFile: "/etc/relayd/provider.secret"
                )
            ]
        )
        expected.listeners = configuration.listeners
        expected.tls = configuration.tls
        expected.auth = configuration.auth
        expected.routes = configuration.routes
        #expect(configuration == expected)
    }

    @Test func everyKeyIsRead() throws {
        let configuration = try Fixtures.parse(
            """
            spool_dir = "/srv/spool"
            run_dir = "/srv/run"

            [[listener]]
            address = "[::]:587"
            mode = "submission"
            require_tls = true

            [[listener]]
            address = "localhost:2525"
            mode = "smtps"
            require_auth = false
            proxy_protocol = true

            [tls]
            cert = "c.pem"
            key = "k.pem"
            min_version = "1.3"

            [limits]
            max_message_size = "10MiB"
            max_recipients = 5
            max_connections = 6
            max_connections_per_ip = 7
            command_timeout = "1m"
            data_timeout = "2m"
            max_errors = 3
            bare_newline = "normalize"
            max_line_length = 2000
            max_hops = 30
            shutdown_timeout = "500ms"

            [relay]
            allow_networks = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7"]
            accept_domains = ["example.org", ".example.net"]
            postmaster = "hostmaster@example.org"
            trusted_proxies = ["192.0.2.0/24"]

            [auth]
            users_file = "/etc/relayd/users"

            [delivery]
            concurrency = 8
            per_destination_concurrency = 2
            connect_timeout = "10s"
            tls = "required"
            min_backoff = "1m"
            max_backoff = "2h"
            max_queue_lifetime = "3d"
            delay_warning = "0"
            max_rcpt_per_transaction = 50
            mx_port = 2525

            [[route]]
            domains = ["example.com", ".example.com"]
            hosts = ["[192.0.2.1]:25", "mx.example.com"]
            implicit_tls = true
            ca_file = "/etc/ssl/extra.pem"

            [dns]
            servers = ["127.0.0.1:5353", "::1", "[::1]:53"]
            timeout = "2s"

            [metrics]
            address = "127.0.0.1:9425"

            [log]
            level = "debug"
            format = "json"
            """
        )
        #expect(configuration.spoolDir == "/srv/spool")
        #expect(configuration.runDir == "/srv/run")
        #expect(
            configuration.listeners == [
                ListenerConfiguration(
                    address: ListenAddress(host: "::", port: 587),
                    mode: .submission,
                    requireTLS: true,
                    requireAuth: true
                ),
                ListenerConfiguration(
                    address: ListenAddress(host: "localhost", port: 2525),
                    mode: .smtps,
                    requireAuth: false,
                    proxyProtocol: true
                ),
            ]
        )
        #expect(configuration.tls == TLSConfiguration(cert: "c.pem", key: "k.pem", minVersion: .v1_3))
        #expect(
            configuration.limits
                == Limits(
                    maxMessageSize: 10 << 20,
                    maxRecipients: 5,
                    maxConnections: 6,
                    maxConnectionsPerIP: 7,
                    commandTimeout: .seconds(60),
                    dataTimeout: .seconds(120),
                    maxErrors: 3,
                    bareNewline: .normalize,
                    maxLineLength: 2000,
                    maxHops: 30,
                    shutdownTimeout: .milliseconds(500)
                )
        )
        #expect(
            configuration.relay.allowNetworks.map(\.description) == ["10.0.0.0/8", "2001:db8::/32", "192.0.2.7/32"]
        )
        #expect(configuration.relay.acceptDomains.map(\.description) == ["example.org", ".example.net"])
        #expect(configuration.relay.postmaster == "hostmaster@example.org")
        #expect(configuration.postmasterAddress == "hostmaster@example.org")
        #expect(configuration.relay.trustedProxies.map(\.description) == ["192.0.2.0/24"])
        #expect(configuration.auth == AuthConfiguration(usersFile: "/etc/relayd/users"))
        #expect(
            configuration.delivery
                == DeliveryConfiguration(
                    concurrency: 8,
                    perDestinationConcurrency: 2,
                    connectTimeout: .seconds(10),
                    tls: .required,
                    minBackoff: .seconds(60),
                    maxBackoff: .seconds(7200),
                    maxQueueLifetime: .seconds(3 * 86_400),
                    delayWarning: nil,
                    maxRcptPerTransaction: 50,
                    mxPort: 2525
                )
        )
        let route = try #require(configuration.routes.first)
        #expect(route.domains.map(\.description) == ["example.com", ".example.com"])
        #expect(
            route.hosts == [RouteHost(host: "192.0.2.1", port: 25, isLiteral: true), RouteHost(host: "mx.example.com")]
        )
        #expect(route.tls == nil)
        #expect(route.implicitTLS)
        #expect(route.caFile == "/etc/ssl/extra.pem")
        #expect(route.username == "" && route.passwordFile == "")
        #expect(
            configuration.dns == DNSConfiguration(servers: ["127.0.0.1:5353", "::1", "[::1]:53"], timeout: .seconds(2))
        )
        #expect(configuration.metrics.address == ListenAddress(host: "127.0.0.1", port: 9425))
        #expect(configuration.log == LogConfiguration(level: .debug, format: .json))
    }

    @Test func inlineTablesAndDottedKeysAreAccepted() throws {
        let configuration = try Fixtures.parse(
            """
            limits.max_recipients = 7
            tls = { cert = "c.pem", key = "k.pem" }
            listener = [{ address = "127.0.0.1:0" }]
            """
        )
        #expect(configuration.limits.maxRecipients == 7)
        #expect(configuration.tls == TLSConfiguration(cert: "c.pem", key: "k.pem"))
        #expect(configuration.listeners == [ListenerConfiguration(address: ListenAddress(host: "127.0.0.1", port: 0))])
    }

    @Test func postmasterDefaultsToTheHostName() {
        var configuration = RelayConfiguration(hostname: "relay.example.com")
        #expect(configuration.postmasterAddress == "postmaster@relay.example.com")
        configuration.relay.postmaster = "root@example.com"
        #expect(configuration.postmasterAddress == "root@example.com")
    }

    @Test(arguments: [
        ("smtp", false), ("submission", true), ("smtps", true),
    ])
    func requireAuthDefaultsByMode(mode: String, expected: Bool) throws {
        let configuration = try Fixtures.parse(
            """
            [[listener]]
            address = "127.0.0.1:0"
            mode = "\(mode)"
            [tls]
            cert = "c"
            key = "k"
            [auth]
            users_file = "u"
            """
        )
        #expect(configuration.listeners.first?.requireAuth == expected)
    }

    @Test func delayWarningZeroDisables() throws {
        for value in ["\"0\"", "0", "\"0s\""] {
            let configuration = try Fixtures.parse("[delivery]\ndelay_warning = \(value)")
            #expect(configuration.delivery.delayWarning == nil, "\(value)")
        }
    }

    @Test func theFirstMatchingRouteWins() throws {
        let configuration = try Fixtures.parse(
            """
            [[route]]
            domains = ["example.com"]
            hosts = ["a.example.net"]
            [[route]]
            domains = ["*"]
            hosts = ["b.example.net"]
            """
        )
        #expect(configuration.route(for: "EXAMPLE.com")?.hosts.first?.host == "a.example.net")
        #expect(configuration.route(for: "other.org")?.hosts.first?.host == "b.example.net")
        #expect(RelayConfiguration(hostname: "h").route(for: "example.com") == nil)
    }

    @Test func loadReadsAFile() throws {
        let path = "/tmp/relayconfig-test-\(UInt64.random(in: 0...UInt64.max)).conf"
        try writeFile(path, "hostname = \"relay.test\"\n[log]\nlevel = \"warning\"\n")
        defer { removeFile(path) }
        let configuration = try RelayConfiguration.load(path: path)
        #expect(configuration.log.level == .warning)
    }

    @Test func loadNamesAMissingFile() {
        #expect(
            throws: ConfigurationError(
                file: "/nonexistent/relayd.conf",
                reason: "cannot read the file: No such file or directory"
            )
        ) {
            try RelayConfiguration.load(path: "/nonexistent/relayd.conf")
        }
        #expect(throws: ConfigurationError.self) { try RelayConfiguration.load(path: "/tmp") }
    }

    @Test func loadNamesTheLineThatIsNotUTF8() throws {
        let path = "/tmp/relayconfig-test-\(UInt64.random(in: 0...UInt64.max)).conf"
        try writeFile(path, "hostname = \"relay.test\"\n# caf\u{FFFF}\n", replacing: [0xEF, 0xBF, 0xBF], with: [0xE9])
        defer { removeFile(path) }
        let error = #expect(throws: ConfigurationError.self) { try RelayConfiguration.load(path: path) }
        #expect(error?.description == "\(path):2: the file is not valid UTF-8")
    }
}
