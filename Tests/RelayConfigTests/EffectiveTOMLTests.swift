import RelayConfig
import Testing

/// ``RelayConfiguration/effectiveTOML()``.
@Suite struct EffectiveTOMLTests {
    @Test func printsEveryDefault() {
        let expected = """
            hostname  = "relay.test"
            spool_dir = "/var/spool/relayd"
            run_dir   = "/run/relayd"

            [[listener]]
            address        = "127.0.0.1:25"
            mode           = "smtp"
            require_tls    = false
            require_auth   = false
            proxy_protocol = false

            # [tls] absent: STARTTLS is not offered

            [limits]
            max_message_size       = "50MB"
            max_recipients         = 100
            max_connections        = 1000
            max_connections_per_ip = 20
            command_timeout        = "5m"
            data_timeout           = "10m"
            max_errors             = 10
            bare_newline           = "reject-remote"
            max_line_length        = 1000
            max_hops               = 100
            shutdown_timeout       = "30s"

            [relay]
            allow_networks  = ["127.0.0.0/8", "::1/128"]
            accept_domains  = []
            postmaster      = ""
            trusted_proxies = []

            # [auth] absent: AUTH is not offered

            [delivery]
            concurrency                 = 100
            per_destination_concurrency = 20
            connect_timeout             = "30s"
            command_timeout             = "5m"
            data_timeout                = "10m"
            tls                         = "opportunistic"
            min_backoff                 = "5m"
            max_backoff                 = "1h"
            max_queue_lifetime          = "5d"
            delay_warning               = "4h"
            max_rcpt_per_transaction    = 100
            mx_port                     = 25

            # no [[route]]: every domain is delivered to its MX hosts

            [dns]
            servers = []
            timeout = "5s"

            [metrics]
            address = ""

            [log]
            level  = "info"
            format = "logfmt"

            """
        #expect(RelayConfiguration(hostname: "relay.test").effectiveTOML() == expected)
    }

    @Test func theDefaultsRoundTrip() throws {
        let configuration = RelayConfiguration(hostname: "relay.test")
        #expect(try RelayConfiguration.parse(configuration.effectiveTOML(), source: "effective") == configuration)
    }

    @Test func theSpecExampleRoundTrips() throws {
        let configuration = try RelayConfiguration.parse(Fixtures.specExample, source: "relayd.conf")
        let printed = configuration.effectiveTOML()
        #expect(try RelayConfiguration.parse(printed, source: "effective") == configuration)
        #expect(printed.contains("password_file = \"/etc/relayd/provider.secret\""))
    }

    @Test func everythingSetRoundTrips() throws {
        var configuration = RelayConfiguration(hostname: "mx.example.org")
        configuration.spoolDir = "/srv/spool \"quoted\""
        configuration.runDir = "/srv/run"
        configuration.listeners = [
            ListenerConfiguration(address: ListenAddress(host: "::", port: 587), mode: .submission, requireTLS: true),
            ListenerConfiguration(
                address: ListenAddress(host: "0.0.0.0", port: 465),
                mode: .smtps,
                proxyProtocol: true
            ),
            ListenerConfiguration(address: ListenAddress(host: "localhost", port: 0), requireAuth: true),
        ]
        configuration.tls = TLSConfiguration(cert: "/c.pem", key: "/k.pem", minVersion: .v1_3)
        configuration.limits = Limits(
            maxMessageSize: 10 << 20,
            maxRecipients: 3,
            maxConnections: 4,
            maxConnectionsPerIP: 5,
            commandTimeout: .seconds(90),
            dataTimeout: .milliseconds(1500),
            maxErrors: 6,
            bareNewline: .reject,
            maxLineLength: 4096,
            maxHops: 7,
            shutdownTimeout: .zero
        )
        configuration.relay = RelayPolicy(
            allowNetworks: [IPNetwork("10.0.0.0/8")!, IPNetwork("2001:db8::/32")!],
            acceptDomains: [try DomainPattern(parsing: "example.org"), try DomainPattern(parsing: ".example.net")],
            postmaster: "hostmaster@example.org",
            trustedProxies: [IPNetwork("192.0.2.1")!]
        )
        configuration.auth = AuthConfiguration(usersFile: "/etc/relayd/users")
        configuration.delivery = DeliveryConfiguration(
            concurrency: 9,
            perDestinationConcurrency: 3,
            connectTimeout: .seconds(7),
            tls: .verify,
            minBackoff: .seconds(61),
            maxBackoff: .seconds(7200),
            maxQueueLifetime: .seconds(86_400 * 3),
            delayWarning: nil,
            maxRcptPerTransaction: 11,
            mxPort: 2525
        )
        configuration.routes = [
            Route(
                domains: [.any],
                hosts: [try RouteHost(parsing: "[192.0.2.1]:25"), try RouteHost(parsing: "smtp.example.net")],
                tls: nil,
                implicitTLS: true,
                caFile: "/ca.pem",
                username: "relay",
                passwordFile: "/secret"
            ),
            Route(
                domains: [try DomainPattern(parsing: "example.com")],
                hosts: [RouteHost(host: "h.example")],
                tls: TLSPolicy.none
            ),
        ]
        configuration.dns = DNSConfiguration(
            servers: ["127.0.0.1:5353", "::1", "[::1]:53"],
            timeout: .milliseconds(250)
        )
        configuration.metrics = MetricsConfiguration(address: ListenAddress(host: "::1", port: 9425))
        configuration.log = LogConfiguration(level: .trace, format: .json)

        let printed = configuration.effectiveTOML()
        #expect(try RelayConfiguration.parse(printed, source: "effective") == configuration)
        #expect(printed.contains("# tls from [delivery]: verify"))
        #expect(printed.contains(#"delay_warning               = "0""#))
        #expect(printed.contains(#"address = "[::1]:9425""#))
    }
}
