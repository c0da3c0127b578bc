import RelayConfig
import Testing

@Suite struct TOMLSourceMapTests {
    /// Whether TOMLKit accepts `text` (the source map is only ever run on text it accepts).
    static func isValidTOML(_ text: String) -> Bool {
        !RelayConfiguration.problems(in: text, source: "t").contains { $0.reason.hasPrefix("TOML syntax error") }
    }

    private func path(_ components: ConfigPath.Component...) -> ConfigPath {
        ConfigPath(components)
    }

    @Test func findsKeysUnderTheirHeaders() {
        let map = TOMLSourceMap(
            text: """
                hostname = "a"          # 1
                                        # 2
                [limits]                # 3
                max_recipients = 5      # 4
                  data_timeout="1m"     # 5
                [ relay ]               # 6
                postmaster = ""         # 7
                """
        )
        #expect(map.exactLine(for: path(.key("hostname"))) == 1)
        #expect(map.exactLine(for: path(.key("limits"))) == 3)
        #expect(map.exactLine(for: path(.key("limits"), .key("max_recipients"))) == 4)
        #expect(map.exactLine(for: path(.key("limits"), .key("data_timeout"))) == 5)
        #expect(map.exactLine(for: path(.key("relay"), .key("postmaster"))) == 7)
        #expect(map.exactLine(for: path(.key("postmaster"))) == nil)
    }

    @Test func numbersArraysOfTables() {
        let map = TOMLSourceMap(
            text: """
                [[listener]]
                address = "a"
                [[listener]]
                mode = "smtp"
                address = "b"
                [tls]
                cert = "c"
                [[listener]]
                """
        )
        #expect(map.exactLine(for: path(.key("listener"))) == 1)
        #expect(map.exactLine(for: path(.key("listener"), .index(0))) == 1)
        #expect(map.exactLine(for: path(.key("listener"), .index(0), .key("address"))) == 2)
        #expect(map.exactLine(for: path(.key("listener"), .index(1))) == 3)
        #expect(map.exactLine(for: path(.key("listener"), .index(1), .key("address"))) == 5)
        #expect(map.exactLine(for: path(.key("tls"), .key("cert"))) == 7)
        #expect(map.exactLine(for: path(.key("listener"), .index(2))) == 8)
    }

    @Test func findsArrayElementsOnTheirOwnLines() {
        let map = TOMLSourceMap(
            text: """
                [relay]
                allow_networks = [
                  "10.0.0.0/8",   # a comment, with [brackets] and a "quote
                  # a line of comment
                  "::1/128", "192.0.2.0/24",
                ]
                postmaster = "x"
                """
        )
        let networks = path(.key("relay"), .key("allow_networks"))
        #expect(map.exactLine(for: networks) == 2)
        #expect(map.exactLine(for: networks.appending(index: 0)) == 3)
        #expect(map.exactLine(for: networks.appending(index: 1)) == 5)
        #expect(map.exactLine(for: networks.appending(index: 2)) == 5)
        #expect(map.exactLine(for: path(.key("relay"), .key("postmaster"))) == 7)
    }

    @Test func skipsMultilineStringsThatLookLikeKeys() {
        let text = #"""
            a = """
            b = 1
            [fake]
            x\""""
            c = '''
            d = 2 '''
            e = "\" f = 3"
            g = [[1, 2], [3,
              4]]
            h = { i = 1, j = { k = "}" } }
            "quoted key".l = 5
            'literal'.m = 6
            """#
        #expect(Self.isValidTOML(text))
        let map = TOMLSourceMap(text: text)
        #expect(map.exactLine(for: path(.key("a"))) == 1)
        #expect(map.exactLine(for: path(.key("b"))) == nil)
        #expect(map.exactLine(for: path(.key("fake"))) == nil)
        #expect(map.exactLine(for: path(.key("c"))) == 5)
        #expect(map.exactLine(for: path(.key("d"))) == nil)
        #expect(map.exactLine(for: path(.key("e"))) == 7)
        #expect(map.exactLine(for: path(.key("f"))) == nil)
        #expect(map.exactLine(for: path(.key("g"), .index(1), .index(1))) == 9)
        #expect(map.exactLine(for: path(.key("h"), .key("j"), .key("k"))) == 10)
        #expect(map.exactLine(for: path(.key("quoted key"), .key("l"))) == 11)
        #expect(map.exactLine(for: path(.key("literal"), .key("m"))) == 12)
    }

    @Test func findsDottedKeysAndInlineTables() {
        let text = """
            limits.max_recipients = 5
            [delivery]
            x.y = 1
            route = [
              { domains = ["a"], hosts = ["h"] },
              { domains = ["b"], hosts = [
                "i"] },
            ]
            """
        #expect(Self.isValidTOML(text))
        let map = TOMLSourceMap(text: text)
        #expect(map.exactLine(for: path(.key("limits"))) == 1)
        #expect(map.exactLine(for: path(.key("limits"), .key("max_recipients"))) == 1)
        #expect(map.exactLine(for: path(.key("delivery"), .key("x"), .key("y"))) == 3)
        #expect(map.exactLine(for: path(.key("delivery"), .key("route"), .index(1), .key("hosts"))) == 6)
        #expect(map.exactLine(for: path(.key("delivery"), .key("route"), .index(1), .key("hosts"), .index(0))) == 7)
    }

    @Test func fallsBackToTheEnclosingTable() {
        let map = TOMLSourceMap(text: "\n[[route]]\ndomains = [\"a\"]\n")
        #expect(map.line(for: path(.key("route"), .index(0), .key("hosts"))) == 2)
        #expect(map.line(for: path(.key("route"), .index(0), .key("domains"), .index(5))) == 3)
        #expect(map.line(for: path(.key("dns"), .key("servers"))) == nil)
        #expect(map.line(for: .root) == nil)
    }

    @Test func survivesTextItDoesNotUnderstand() {
        for text in ["[", "[[", "a = [", "a = {", "= 1", "a = \"", "a = '''", "\u{FEFF}a = 1", "[a.\"b", "a = [1 2]"] {
            _ = TOMLSourceMap(text: text)
        }
    }
}
