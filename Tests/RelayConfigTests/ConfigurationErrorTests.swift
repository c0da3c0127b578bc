import RelayConfig
import Testing

@Suite struct ConfigurationErrorTests {
    // MARK: - The description

    @Test func descriptionIsFileLineKeyReason() {
        let error = ConfigurationError(
            file: "relayd.conf",
            line: 12,
            key: "limits.max_message_size",
            reason: "expected a size such as 50MB, got \"huge\""
        )
        #expect(
            error.description == #"relayd.conf:12: limits.max_message_size: expected a size such as 50MB, got "huge""#
        )
        #expect(ConfigurationError(file: "f", reason: "r").description == "f: r")
        #expect(ConfigurationError(file: "f", line: 3, reason: "r").description == "f:3: r")
        #expect(ConfigurationError(file: "f", key: "k", reason: "r").description == "f: k: r")
        #expect(ConfigurationError(reason: "r").description == "r")
    }

    @Test func theBriefsExampleComesOutVerbatim() {
        let text = """
            hostname = "relay.test"
            spool_dir = "/var/spool/relayd"
            run_dir = "/run/relayd"

            [[listener]]
            address = "0.0.0.0:25"

            [limits]
            max_recipients = 100
            max_connections = 1000
            # the line below is line 12
            max_message_size = "huge"
            """
        #expect(
            Fixtures.error(text)?.description
                == #"relayd.conf:12: limits.max_message_size: expected a size such as 50MB, got "huge""#
        )
    }

    // MARK: - TOML syntax

    @Test func syntaxErrorsCarryTheParsersLine() throws {
        let error = try #require(Fixtures.error("hostname = \"relay.test\"\n[limits]\nmax_recipients = \n"))
        #expect(error.line == 3)
        #expect(error.key == nil)
        #expect(error.reason.hasPrefix("TOML syntax error: "))
        #expect(error.description.hasPrefix("relayd.conf:3: TOML syntax error: "))
    }

    @Test func duplicateKeysAreSyntaxErrors() throws {
        let error = try #require(Fixtures.error("[log]\nlevel = \"info\"\nlevel = \"debug\"\n"))
        #expect(error.line == 3)
        #expect(error.reason.hasPrefix("TOML syntax error: "))
    }

    @Test func aNulByteIsRefusedWithItsLine() {
        #expect(
            Fixtures.error("hostname = \"a\"\n# \u{0}\n[log]\nlevel = \"nope\"\n")?.description
                == "relayd.conf:2: NUL byte in the file"
        )
    }

    // MARK: - Unknown keys and tables

    @Test(arguments: [
        ("hostnam = \"x\"\n", #"relayd.conf:1: hostnam: unknown key (did you mean "hostname"?)"#),
        ("\n\nfrobnicate = 1\n", "relayd.conf:3: frobnicate: unknown key"),
        (
            "[limits]\nmax_recipients = 5\nmax_mesage_size = 5\n",
            #"relayd.conf:3: limits.max_mesage_size: unknown key (did you mean "max_message_size"?)"#
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\n\n[[listener]]\nadress = \"127.0.0.1:26\"\naddress = \"127.0.0.1:27\"\n",
            #"relayd.conf:5: listener[1].adress: unknown key (did you mean "address"?)"#
        ),
        ("[limit]\nmax_recipients = 5\n", #"relayd.conf:1: limit: unknown table (did you mean "limits"?)"#),
        ("[limits.extra]\nx = 1\n", "relayd.conf:1: limits.extra: unknown table"),
        ("[[relays]]\nx = 1\n", #"relayd.conf:1: relays: unknown table (did you mean "relay"?)"#),
        (
            "[dns]\ntimeout = \"1s\"\nserver = []\n",
            #"relayd.conf:3: dns.server: unknown key (did you mean "servers"?)"#
        ),
        ("[log]\nlevel = \"info\"\ncolor = true\n", "relayd.conf:3: log.color: unknown key"),
        (
            "[[route]]\ndomains = [\"a.example\"]\nhosts = [\"h.example\"]\npassword = \"secret\"\n",
            #"relayd.conf:4: route[0].password: unknown key (did you mean "password_file"?)"#
        ),
    ])
    func unknownKeysAndTables(text: String, expected: String) {
        #expect(Fixtures.error(text)?.description == expected)
    }

    // MARK: - Wrong shapes and types

    @Test(arguments: [
        ("hostname = 5\n", "relayd.conf:1: hostname: expected a string, got an integer"),
        (
            "[limits]\nmax_recipients = \"100\"\n",
            "relayd.conf:2: limits.max_recipients: expected an integer, got a string"
        ),
        (
            "[limits]\nmax_recipients = 1.5\n",
            "relayd.conf:2: limits.max_recipients: expected an integer, got a floating-point number"
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\nrequire_tls = \"yes\"\n",
            "relayd.conf:3: listener[0].require_tls: expected true or false, got a string"
        ),
        ("[[limits]]\nmax_recipients = 5\n", "relayd.conf:1: limits: expected a table ([limits]), got an array"),
        ("limits = 5\n", "relayd.conf:1: limits: expected a table ([limits]), got an integer"),
        (
            "[listener]\naddress = \"127.0.0.1:25\"\n",
            "relayd.conf:1: listener: expected an array of tables ([[listener]]), got a table"
        ),
        ("listener = [\"127.0.0.1:25\"]\n", "relayd.conf:1: listener[0]: expected a table, got a string"),
        ("listener = []\n", "relayd.conf:1: listener: needs at least one [[listener]]"),
        (
            "[relay]\nallow_networks = \"10.0.0.0/8\"\n",
            "relayd.conf:2: relay.allow_networks: expected an array, got a string"
        ),
        (
            "[relay]\nallow_networks = [10]\n",
            "relayd.conf:2: relay.allow_networks[0]: expected a string, got an integer"
        ),
        (
            "[log]\nlevel = 2024-01-01\n",
            #"relayd.conf:2: log.level: expected one of "trace", "debug", "info", "notice", "warning", "error"; got a date"#
        ),
    ])
    func wrongTypes(text: String, expected: String) {
        #expect(Fixtures.error(text)?.description == expected)
    }

    // MARK: - Bad values

    @Test(arguments: [
        (
            "[limits]\ncommand_timeout = \"5\"\n",
            #"relayd.conf:2: limits.command_timeout: expected a duration such as 30s, 5m, 4h or 5d (units ms, s, m, h, d), got "5""#
        ),
        (
            "[limits]\ncommand_timeout = 300\n",
            "relayd.conf:2: limits.command_timeout: expected a duration such as 30s, 5m, 4h or 5d (units ms, s, m, h, d) in quotes, got an integer"
        ),
        ("[limits]\ndata_timeout = \"0s\"\n", "relayd.conf:2: limits.data_timeout: must be longer than 0s"),
        (
            "[delivery]\nconnect_timeout = \"0\"\n",
            #"relayd.conf:2: delivery.connect_timeout: expected a duration such as 30s, 5m, 4h or 5d (units ms, s, m, h, d), got "0""#
        ),
        ("[limits]\nmax_message_size = 0\n", "relayd.conf:2: limits.max_message_size: must be at least 1, got 0"),
        ("[limits]\nmax_message_size = -5\n", "relayd.conf:2: limits.max_message_size: must be at least 1, got -5"),
        (
            "[limits]\nmax_message_size = true\n",
            "relayd.conf:2: limits.max_message_size: expected a size such as 50MB or a number of bytes, got a boolean"
        ),
        ("[limits]\nmax_recipients = 0\n", "relayd.conf:2: limits.max_recipients: must be at least 1, got 0"),
        ("[limits]\nmax_line_length = 998\n", "relayd.conf:2: limits.max_line_length: must be at least 1000, got 998"),
        ("[delivery]\nmx_port = 70000\n", "relayd.conf:2: delivery.mx_port: must be 1 to 65535, got 70000"),
        ("[delivery]\nmx_port = 0\n", "relayd.conf:2: delivery.mx_port: must be 1 to 65535, got 0"),
        (
            "[limits]\nbare_newline = \"strict\"\n",
            #"relayd.conf:2: limits.bare_newline: expected one of "reject-remote", "reject", "normalize"; got "strict""#
        ),
        (
            "[tls]\ncert = \"c\"\nkey = \"k\"\nmin_version = 1.2\n",
            #"relayd.conf:4: tls.min_version: expected one of "1.2", "1.3"; got a floating-point number"#
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:25\"\nmode = \"lmtp\"\n",
            #"relayd.conf:3: listener[0].mode: expected one of "smtp", "submission", "smtps"; got "lmtp""#
        ),
        (
            "[[listener]]\naddress = \"127.0.0.1:65536\"\n",
            #"relayd.conf:2: listener[0].address: expected host:port such as "0.0.0.0:25", "[::]:587" or "localhost:2525", got "127.0.0.1:65536""#
        ),
        (
            "[[listener]]\naddress = \"::1:25\"\n",
            #"relayd.conf:2: listener[0].address: put an IPv6 address in brackets and add a port, as in "[::1]:25"; got "::1:25""#
        ),
        (
            "[relay]\nallow_networks = [\n  \"10.0.0.0/8\",\n  \"10.0.0.1/8\",\n]\n",
            #"relayd.conf:4: relay.allow_networks[1]: "10.0.0.1/8" has host bits set; did you mean "10.0.0.0/8"?"#
        ),
        (
            "[relay]\ntrusted_proxies = [\"10.0.0.0/33\"]\n",
            #"relayd.conf:2: relay.trusted_proxies[0]: the prefix length in "10.0.0.0/33" must be 0 to 32"#
        ),
        (
            "[relay]\naccept_domains = [\"example.org\", \"*\"]\n",
            #"relayd.conf:2: relay.accept_domains[1]: "*" is refused here: it would make an open relay (anyone could send mail anywhere)"#
        ),
        (
            "[relay]\npostmaster = \"postmaster\"\n",
            #"relayd.conf:2: relay.postmaster: expected an address such as "hostmaster@example.com" (or "" for postmaster@<hostname>), got "postmaster""#
        ),
        (
            "hostname = \"relay_1.example\"\n",
            #"relayd.conf:1: hostname: expected a host name such as "relay.example.com", got "relay_1.example""#
        ),
        ("spool_dir = \"\"\n", "relayd.conf:1: spool_dir: must not be empty"),
        (
            "[dns]\nservers = [\"127.0.0.1:5353\", \"dns.example\"]\n",
            #"relayd.conf:2: dns.servers[1]: expected a server address such as "192.0.2.53", "127.0.0.1:5353" or "[::1]:53", got "dns.example""#
        ),
        (
            "[metrics]\naddress = \"9425\"\n",
            #"relayd.conf:2: metrics.address: expected host:port such as "0.0.0.0:25", "[::]:587" or "localhost:2525", got "9425""#
        ),
        (
            "[[route]]\ndomains = [\"*.example.com\"]\nhosts = [\"h.example\"]\n",
            #"relayd.conf:2: route[0].domains[0]: expected a domain such as "example.com", ".example.com" (its subdomains) or "*", got "*.example.com" (write ".example.com" for the subdomains of a domain)"#
        ),
        (
            "[[route]]\ndomains = [\"example.com\"]\nhosts = [\n  \"a.example:25\",\n  \"b.example:0\",\n]\n",
            #"relayd.conf:5: route[0].hosts[1]: port must be 1 to 65535 in "b.example:0""#
        ),
    ])
    func badValues(text: String, expected: String) {
        #expect(Fixtures.error(text)?.description == expected)
    }

    // MARK: - Required keys

    @Test(arguments: [
        ("\n[[route]]\ndomains = [\"example.com\"]\n", "relayd.conf:2: route[0].hosts: missing required key"),
        (
            "[[route]]\ndomains = []\nhosts = [\"h.example\"]\n",
            "relayd.conf:2: route[0].domains: must list at least one entry"
        ),
        ("[[listener]]\nmode = \"smtp\"\n", "relayd.conf:1: listener[0].address: missing required key"),
        ("[tls]\ncert = \"c\"\n", "relayd.conf:1: tls.key: missing required key"),
        ("[auth]\n", "relayd.conf:1: auth.users_file: missing required key"),
    ])
    func missingKeys(text: String, expected: String) {
        #expect(Fixtures.error(text)?.description == expected)
    }

    // MARK: - Rules across keys

    @Test(arguments: [
        (
            "[[listener]]\naddress = \"0.0.0.0:465\"\nmode = \"smtps\"\nrequire_auth = false\n",
            #"relayd.conf:3: listener[0].mode: mode "smtps" needs a [tls] section (a certificate)"#
        ),
        (
            "[[listener]]\naddress = \"0.0.0.0:25\"\nrequire_tls = true\n",
            "relayd.conf:3: listener[0].require_tls: needs a [tls] section (a certificate) to offer STARTTLS"
        ),
        (
            "[tls]\ncert = \"c\"\nkey = \"k\"\n\n[[listener]]\naddress = \"0.0.0.0:587\"\nmode = \"submission\"\n",
            "relayd.conf:5: listener[0].require_auth: needs an [auth] section (users_file) (require_auth is true by default for submission listeners)"
        ),
        (
            "[auth]\nusers_file = \"u\"\n[[listener]]\naddress = \"0.0.0.0:25\"\nrequire_auth = true\n",
            "relayd.conf:5: listener[0].require_auth: needs a [tls] section: AUTH is offered only over TLS"
        ),
        (
            "[[listener]]\naddress = \"0.0.0.0:25\"\nproxy_protocol = true\n",
            "relayd.conf:3: listener[0].proxy_protocol: needs [relay] trusted_proxies: PROXY headers are accepted only from those sources"
        ),
        (
            "[[listener]]\naddress = \"0.0.0.0:25\"\n[[listener]]\naddress = \"0.0.0.0:25\"\n",
            "relayd.conf:4: listener[1].address: the same address as listener[0]"
        ),
        (
            "[metrics]\naddress = \"127.0.0.1:25\"\n",
            "relayd.conf:2: metrics.address: the same address as listener[0]"
        ),
        (
            "[[listener]]\naddress = \"0.0.0.0:2525\"\n[[listener]]\naddress = \"127.0.0.1:2525\"\n",
            "relayd.conf:4: listener[1].address: the same address as listener[0]"
        ),
        (
            "[[listener]]\naddress = \"[::]:2525\"\n[metrics]\naddress = \"127.0.0.1:2525\"\n",
            "relayd.conf:4: metrics.address: the same address as listener[0]"
        ),
        (
            "[delivery]\nmin_backoff = \"2h\"\nmax_backoff = \"1h\"\n",
            "relayd.conf:3: delivery.max_backoff: must not be shorter than min_backoff (2h)"
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nhosts = [\"h.example\"]\nusername = \"u\"\n",
            "relayd.conf:4: route[0].username: needs password_file"
        ),
        (
            "[[route]]\ndomains = [\"*\"]\nhosts = [\"h.example\"]\npassword_file = \"/p\"\n",
            "relayd.conf:4: route[0].password_file: needs username"
        ),
        (
            "[delivery]\ntls = \"none\"\n[[route]]\ndomains = [\"*\"]\nhosts = [\"h.example:465\"]\nimplicit_tls = true\n",
            #"relayd.conf:6: route[0].implicit_tls: cannot be true with tls = "none" (from [delivery] tls)"#
        ),
    ])
    func rulesAcrossKeys(text: String, expected: String) {
        #expect(Fixtures.error(text)?.description == expected)
    }

    // MARK: - Which problem is reported

    @Test func theFirstProblemInTheFileIsReported() {
        // TOMLKit lists keys alphabetically ("delivery" before "log"); the report follows the file.
        let text = "[log]\nlevel = \"loud\"\n\n[delivery]\nconcurrency = 0\n"
        #expect(Fixtures.error(text)?.line == 2)
        let problems = RelayConfiguration.problems(in: text, source: "relayd.conf")
        #expect(problems.map(\.key) == ["log.level", "delivery.concurrency"])
        #expect(RelayConfiguration.problems(in: Fixtures.specExample, source: "relayd.conf").isEmpty)
    }

    @Test func problemsInAFailedEntryDoNotShiftLaterEntries() {
        let text = """
            [[route]]
            domains = ["a.example"]
            [[route]]
            domains = ["b.example"]
            hosts = ["h.example"]
            username = "u"
            """
        let problems = RelayConfiguration.problems(in: text, source: "relayd.conf")
        #expect(problems.map(\.description) == ["relayd.conf:1: route[0].hosts: missing required key"])
    }
}
