import RelayConfig
import Testing

@Suite struct DurationSyntaxTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)),
        ("0ms", .zero),
        ("0s", .zero),
        ("30s", .seconds(30)),
        ("90s", .seconds(90)),
        ("5m", .seconds(300)),
        ("4h", .seconds(4 * 3600)),
        ("5d", .seconds(5 * 86_400)),
        ("365d", .seconds(365 * 86_400)),
    ])
    func parsesDurations(text: String, expected: Duration) {
        #expect(DurationSyntax.parse(text) == expected)
    }

    @Test(arguments: [
        "", "5", "0", "s", "-5s", "+5s", "5 s", " 5s", "5s ", "1.5h", "5S", "5min", "5sec", "1h30m", "5w",
        "99999999999999999999d", "999999999999999999d",
    ])
    func refusesOtherText(text: String) {
        #expect(DurationSyntax.parse(text) == nil)
    }

    @Test(arguments: [
        (Duration.zero, "0s"),
        (.milliseconds(500), "500ms"),
        (.milliseconds(1500), "1500ms"),
        (.seconds(30), "30s"),
        (.seconds(90), "90s"),
        (.seconds(300), "5m"),
        (.seconds(3600), "1h"),
        (.seconds(5400), "90m"),
        (.seconds(86_400 * 5), "5d"),
        (.seconds(86_400 + 3600), "25h"),
    ])
    func formatsWithTheLargestExactUnit(duration: Duration, expected: String) {
        #expect(DurationSyntax.format(duration) == expected)
        #expect(DurationSyntax.parse(expected) == duration)
    }
}
