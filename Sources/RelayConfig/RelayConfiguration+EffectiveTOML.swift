extension RelayConfiguration {
    /// The effective configuration as TOML: every key with its value, defaults filled in, in
    /// the order of `relayd.conf(5)`. ``parse(_:source:)`` reads it back to an equal
    /// configuration. Absent optional sections are shown as comments. Secrets are never inline
    /// in this configuration: only the paths of files holding them are printed.
    /// - Returns: The TOML text, ending with a newline.
    public func effectiveTOML() -> String {
        var writer = EffectiveTOMLWriter()
        writer.section(
            nil,
            [
                ("hostname", TOMLText.quoted(self.hostname)),
                ("spool_dir", TOMLText.quoted(self.spoolDir)),
                ("run_dir", TOMLText.quoted(self.runDir)),
            ]
        )
        for listener in self.listeners {
            writer.section(
                "[[listener]]",
                [
                    ("address", TOMLText.quoted(listener.address.description)),
                    ("mode", TOMLText.quoted(listener.mode.rawValue)),
                    ("require_tls", "\(listener.requireTLS)"),
                    ("require_auth", "\(listener.requireAuth)"),
                    ("proxy_protocol", "\(listener.proxyProtocol)"),
                ]
            )
        }
        if let tls = self.tls {
            writer.section(
                "[tls]",
                [
                    ("cert", TOMLText.quoted(tls.cert)),
                    ("key", TOMLText.quoted(tls.key)),
                    ("min_version", TOMLText.quoted(tls.minVersion.rawValue)),
                ]
            )
        } else {
            writer.comment("[tls] absent: STARTTLS is not offered")
        }
        let limits = self.limits
        writer.section(
            "[limits]",
            [
                ("max_message_size", TOMLText.quoted(SizeSyntax.format(limits.maxMessageSize))),
                ("max_recipients", "\(limits.maxRecipients)"),
                ("max_connections", "\(limits.maxConnections)"),
                ("max_connections_per_ip", "\(limits.maxConnectionsPerIP)"),
                ("command_timeout", Self.duration(limits.commandTimeout)),
                ("data_timeout", Self.duration(limits.dataTimeout)),
                ("max_errors", "\(limits.maxErrors)"),
                ("bare_newline", TOMLText.quoted(limits.bareNewline.rawValue)),
                ("max_line_length", "\(limits.maxLineLength)"),
                ("max_hops", "\(limits.maxHops)"),
                ("shutdown_timeout", Self.duration(limits.shutdownTimeout)),
            ]
        )
        writer.section(
            "[relay]",
            [
                ("allow_networks", TOMLText.array(self.relay.allowNetworks.map(\.description))),
                ("accept_domains", TOMLText.array(self.relay.acceptDomains.map(\.description))),
                ("postmaster", TOMLText.quoted(self.relay.postmaster)),
                ("trusted_proxies", TOMLText.array(self.relay.trustedProxies.map(\.description))),
            ]
        )
        if let auth = self.auth {
            writer.section("[auth]", [("users_file", TOMLText.quoted(auth.usersFile))])
        } else {
            writer.comment("[auth] absent: AUTH is not offered")
        }
        let delivery = self.delivery
        writer.section(
            "[delivery]",
            [
                ("concurrency", "\(delivery.concurrency)"),
                ("per_destination_concurrency", "\(delivery.perDestinationConcurrency)"),
                ("connect_timeout", Self.duration(delivery.connectTimeout)),
                ("command_timeout", Self.duration(delivery.commandTimeout)),
                ("data_timeout", Self.duration(delivery.dataTimeout)),
                ("tls", TOMLText.quoted(delivery.tls.rawValue)),
                ("min_backoff", Self.duration(delivery.minBackoff)),
                ("max_backoff", Self.duration(delivery.maxBackoff)),
                ("max_queue_lifetime", Self.duration(delivery.maxQueueLifetime)),
                ("delay_warning", delivery.delayWarning.map(Self.duration) ?? TOMLText.quoted("0")),
                ("max_rcpt_per_transaction", "\(delivery.maxRcptPerTransaction)"),
                ("mx_port", "\(delivery.mxPort)"),
            ]
        )
        if self.routes.isEmpty {
            writer.comment("no [[route]]: every domain is delivered to its MX hosts")
        }
        for route in self.routes {
            var entries = [
                ("domains", TOMLText.array(route.domains.map(\.description))),
                ("hosts", TOMLText.array(route.hosts.map(\.description))),
            ]
            if let tls = route.tls { entries.append(("tls", TOMLText.quoted(tls.rawValue))) }
            entries += [
                ("implicit_tls", "\(route.implicitTLS)"),
                ("ca_file", TOMLText.quoted(route.caFile)),
                ("username", TOMLText.quoted(route.username)),
                ("password_file", TOMLText.quoted(route.passwordFile)),
            ]
            let inherited = route.tls == nil ? "tls from [delivery]: \(delivery.tls.rawValue)" : nil
            writer.section("[[route]]", entries, note: inherited)
        }
        writer.section(
            "[dns]",
            [
                ("servers", TOMLText.array(self.dns.servers)),
                ("timeout", Self.duration(self.dns.timeout)),
            ]
        )
        writer.section(
            "[metrics]",
            [("address", TOMLText.quoted(self.metrics.address?.description ?? ""))]
        )
        writer.section(
            "[log]",
            [
                ("level", TOMLText.quoted(self.log.level.rawValue)),
                ("format", TOMLText.quoted(self.log.format.rawValue)),
            ]
        )
        return writer.text
    }

    private static func duration(_ duration: Duration) -> String {
        TOMLText.quoted(DurationSyntax.format(duration))
    }
}

/// Lays out sections of `key = value` lines, with the `=` signs of a section aligned.
private struct EffectiveTOMLWriter {
    var text = ""

    mutating func section(_ header: String?, _ entries: [(key: String, value: String)], note: String? = nil) {
        if !self.text.isEmpty { self.text += "\n" }
        if let header { self.text += header + "\n" }
        if let note { self.text += "# \(note)\n" }
        let width = entries.map(\.key.count).max() ?? 0
        for (key, value) in entries {
            self.text += key + String(repeating: " ", count: width - key.count) + " = " + value + "\n"
        }
    }

    mutating func comment(_ comment: String) {
        if !self.text.isEmpty { self.text += "\n" }
        self.text += "# \(comment)\n"
    }
}
