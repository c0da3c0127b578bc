import RelayConfig
import Testing

/// Shared inputs for the RelayConfig tests.
enum Fixtures {
    /// The example configuration of SPEC.md, "Configuration (relayd.conf, TOML)", verbatim.
    static let specExample = #"""
        hostname  = "relay.example.com"     # EHLO name and banner; default: the host's FQDN
        spool_dir = "/var/spool/relayd"     # spool.sqlite lives here
        run_dir   = "/run/relayd"           # control.sock lives here

        [[listener]]                        # one table per listening socket; default: one on 127.0.0.1:25
        address        = "0.0.0.0:25"       # "host:port", "[::]:587"
        mode           = "smtp"             # smtp | submission | smtps (implicit TLS)
        require_tls    = false              # before TLS only EHLO/HELO/STARTTLS/NOOP/QUIT (RFC 3207)
        require_auth   = false              # MAIL FROM needs AUTH first (default true for submission/smtps)
        proxy_protocol = false              # expect a PROXY v1/v2 header, only from [relay].trusted_proxies

        [tls]                               # listener certificate; absent = no STARTTLS offered
        cert = "/etc/relayd/tls/cert.pem"
        key  = "/etc/relayd/tls/key.pem"
        min_version = "1.2"

        [limits]
        max_message_size       = "50MB"     # advertised as SIZE; larger = 552 5.3.4
        max_recipients         = 100        # per transaction; more = 452 4.5.3
        max_connections        = 1000
        max_connections_per_ip = 20
        command_timeout        = "5m"
        data_timeout           = "10m"
        max_errors             = 10         # protocol errors before 421 and disconnect
        bare_newline           = "reject-remote"  # reject-remote | reject | normalize
        max_line_length        = 1000       # message text line, octets incl. CRLF (RFC 5321 §4.5.3.1.6)
        max_hops               = 100        # more Received: headers than this on arrival = 554 5.4.6
        shutdown_timeout       = "30s"      # how long transactions in flight may finish on SIGTERM

        [relay]
        allow_networks  = ["127.0.0.0/8", "::1/128"]  # may relay to any domain
        accept_domains  = []                          # anyone may send to these (backup MX / inbound);
                                                      # patterns as in [[route]] domains, but "*"
                                                      # is refused (it would make an open relay)
        postmaster      = ""                          # where <Postmaster> mail and double-bounce notices go;
                                                      # "" = postmaster@<hostname>
        trusted_proxies = []                          # sources allowed to send PROXY headers

        [auth]                              # absent = AUTH not offered
        users_file = "/etc/relayd/users"    # "name:crypt(3)-hash" lines (yescrypt, sha512-crypt)
        # authenticated clients may relay to any domain

        [delivery]
        concurrency                 = 100
        per_destination_concurrency = 20
        connect_timeout             = "30s"
        tls                         = "opportunistic"   # none | opportunistic | required | verify
        min_backoff                 = "5m"
        max_backoff                 = "1h"
        max_queue_lifetime          = "5d"
        delay_warning               = "4h"              # "0" disables
        max_rcpt_per_transaction    = 100
        mx_port                     = 25                # port used for MX hosts (tests, special setups)

        [[route]]                           # first match wins; no match = MX delivery
        domains  = ["*"]                    # "example.com" (that domain), ".example.com" (its
                                            # subdomains only), "*" (everything)
        hosts    = ["smtp.provider.net:587"] # tried in order; "[192.0.2.1]:25" = no MX lookup
        tls      = "verify"                # none | opportunistic | required | verify (default: [delivery] tls)
        implicit_tls = false               # true: TLS from the first byte (port 465 smarthosts)
        ca_file  = ""                      # extra trust anchors for verify; default: system store
        username = "relay"
        password_file = "/etc/relayd/provider.secret"

        [dns]
        servers = []                        # default: /etc/resolv.conf; e.g. ["127.0.0.1:5353"]
        timeout = "5s"

        [metrics]
        address = ""                        # e.g. "127.0.0.1:9425"; serves Prometheus text at /metrics

        [log]
        level  = "info"                     # trace | debug | info | notice | warning | error
        format = "logfmt"                   # logfmt | json, to stderr
        """#

    /// Parses `text` as `relayd.conf` and returns the error it gives (or records a test failure).
    static func error(
        _ text: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ConfigurationError? {
        do {
            let configuration = try RelayConfiguration.parse(text, source: "relayd.conf")
            Issue.record("expected an error, got \(configuration)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    /// Parses `text` with a fixed host name (no lookup) and returns the configuration.
    static func parse(_ text: String) throws -> RelayConfiguration {
        try RelayConfiguration.parse("hostname = \"relay.test\"\n" + text, source: "relayd.conf")
    }
}
