import Testing

@testable import RelayConfig

/// The isolation logic, with a stand-in for the parser: a shell that aborts (SIGABRT) when its
/// input holds a line `[[`, as toml++ does on some malformed documents.
@Suite struct TOMLParseIsolationTests {
    let aborting = TOMLParseIsolation(executable: "/bin/sh", arguments: ["-c", "grep -qx '\\[\\[' && kill -ABRT $$; exit 0"])

    @Test func aTextThatDoesNotAbortIsLeftToTheParser() {
        #expect(aborting.abortLine(of: "a = 1\nb = [1, 2]\n") == nil)
    }

    @Test(arguments: [("[[\n", 1), ("a = 1\nb = 2\n[[\nc = 3\n", 3), ("a = 1\n\n\n\n\n\n\n[[", 8)])
    func theFirstLineThatMakesItAbortIsNamed(text: String, line: Int) {
        #expect(aborting.abortLine(of: text) == line)
    }

    @Test func anAbortIsAConfigurationErrorWithTheLine() {
        #expect(throws: ConfigurationError(file: "relayd.conf", line: 2, reason: "TOML syntax error: malformed TOML (the parser cannot read this line)")) {
            try RelayConfiguration.parse("hostname = \"a.example\"\n[[\n", source: "relayd.conf", isolation: aborting)
        }
    }

    @Test func aProbeThatCannotStartProvesNothing() {
        let missing = TOMLParseIsolation(executable: "/nonexistent/relayd", arguments: [])
        #expect(missing.abortLine(of: "[[\n") == nil)
    }
}
