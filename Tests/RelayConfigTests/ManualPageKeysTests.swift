import Foundation
import RelayConfig
import Testing

/// `man/relayd.conf.5` documents exactly the keys the code knows: those that
/// ``RelayConfiguration/effectiveTOML()`` prints for a configuration with every optional table set.
@Suite struct ManualPageKeysTests {
    /// Sets every optional table and every optional key whose absence hides it from the effective
    /// configuration (`[tls]`, `[auth]`, a `[[listener]]`, a `[[route]]` with its `tls` and
    /// credentials, `[metrics] address`).
    static let everyTable = #"""
        hostname = "relay.test"

        [[listener]]
        address = "127.0.0.1:2525"
        mode = "submission"

        [tls]
        cert = "/etc/relayd/tls/cert.pem"
        key = "/etc/relayd/tls/key.pem"

        [auth]
        users_file = "/etc/relayd/users"

        [[route]]
        domains = ["*"]
        hosts = ["smtp.provider.net:587"]
        tls = "verify"
        ca_file = "/etc/relayd/provider-ca.pem"
        username = "relay"
        password_file = "/etc/relayd/provider.secret"

        [metrics]
        address = "127.0.0.1:9425"
        """#

    /// The manual page, found from this file: `Tests/RelayConfigTests/` → `man/`.
    static let manualPage = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("../../man/relayd.conf.5")
        .standardizedFileURL

    @Test func manualPageDocumentsEveryKeyAndNoOther() throws {
        let configuration = try RelayConfiguration.parse(Self.everyTable, source: "every-table.conf")
        let code = KeyReader.keys(inEffectiveTOML: configuration.effectiveTOML())
        // Guard against a reader that silently finds nothing.
        #expect(code.contains("limits.max_message_size"))
        #expect(code.contains("route.password_file"))

        let page = try String(contentsOf: Self.manualPage, encoding: .utf8)
        let documented = KeyReader.keys(inManualPage: page)
        #expect(documented.duplicates.isEmpty, "documented more than once in relayd.conf.5: \(documented.duplicates.sorted())")

        let undocumented = code.subtracting(documented.keys).sorted()
        let unknown = documented.keys.subtracting(code).sorted()
        #expect(
            undocumented.isEmpty && unknown.isEmpty,
            """
            relayd.conf.5 (\(Self.manualPage.path)) and the configuration code disagree.
            Known to the code but not documented: \(undocumented)
            Documented but not known to the code: \(unknown)
            (keys are section.key; top-level keys have an empty section, as ".hostname")
            """)
    }

    @Test func readsEffectiveTOML() {
        let text = """
            hostname  = "a"
            # [tls] absent: STARTTLS is not offered

            [[listener]]
            address = "127.0.0.1:25"

            [limits]
            max_hops = 100
            """
        #expect(KeyReader.keys(inEffectiveTOML: text) == [".hostname", "listener.address", "limits.max_hops"])
    }

    @Test func readsManualPageKeysOnlyFromKeySections() {
        let page = """
            .Sh DESCRIPTION
            .Ss Durations
            .Bl -tag -width Ds
            .It Cm ms
            .El
            .Ss Top-level keys
            .Bl -tag -width Ds
            .It Cm hostname Ar string
            .El
            .Ss [limits]
            .Bl -tag -width Ds
            .It Cm bare_newline Ar string
            .Bl -tag -width Ds
            .It Cm reject
            .El
            .It Cm max_hops Ar integer
            .El
            .Ss [[route]]
            .Bl -tag -width Ds
            .It Cm domains Ar array
            .It Cm domains Ar array
            .El
            .Sh CAVEATS
            .Bl -bullet
            .It Cm proxy_protocol No is not supported.
            .El
            """
        let found = KeyReader.keys(inManualPage: page)
        #expect(found.keys == [".hostname", "limits.bare_newline", "limits.max_hops", "route.domains"])
        #expect(found.duplicates == ["route.domains"])
    }
}

/// Reads `section.key` names from the two texts compared above.
enum KeyReader {
    /// The heading of the manual page's subsection that holds the keys before any table.
    static let topLevelHeading = "Top-level keys"

    /// Keys of the effective configuration: `[section]` and `[[section]]` headers, `key = value`
    /// lines, `#` comment lines. Keys before any header have the empty section.
    static func keys(inEffectiveTOML text: String) -> Set<String> {
        var section = ""
        var keys: Set<String> = []
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                section = line.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces)
            keys.insert("\(section).\(key)")
        }
        return keys
    }

    /// Keys documented in `relayd.conf.5`: the `.It Cm key` entries of the outermost list of each
    /// `.Ss [section]`, `.Ss [[section]]` or `.Ss Top-level keys` subsection. Lists nested inside
    /// an entry (a key's values) and other subsections are not read.
    static func keys(inManualPage page: String) -> (keys: Set<String>, duplicates: Set<String>) {
        var section: String?
        var depth = 0
        var keys: Set<String> = []
        var duplicates: Set<String> = []
        for rawLine in page.split(separator: "\n", omittingEmptySubsequences: true) {
            let words = rawLine.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard let macro = words.first else { continue }
            switch macro {
            case ".Sh":
                section = nil
                depth = 0
            case ".Ss":
                let title = words.dropFirst().joined(separator: " ")
                if title == Self.topLevelHeading {
                    section = ""
                } else if title.hasPrefix("["), title.hasSuffix("]") {
                    section = title.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                } else {
                    section = nil
                }
                depth = 0
            case ".Bl":
                depth += 1
            case ".El":
                depth = max(0, depth - 1)
            case ".It":
                guard let section, depth == 1, words.count >= 3, words[1] == "Cm" else { continue }
                let key = "\(section).\(words[2])"
                if !keys.insert(key).inserted { duplicates.insert(key) }
            default:
                continue
            }
        }
        return (keys, duplicates)
    }
}
