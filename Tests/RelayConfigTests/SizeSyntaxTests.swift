import RelayConfig
import Testing

@Suite struct SizeSyntaxTests {
    @Test(arguments: [
        ("0", 0),
        ("1000", 1000),
        ("512B", 512),
        ("50KB", 50_000),
        ("50MB", 50_000_000),
        ("1GB", 1_000_000_000),
        ("2TB", 2_000_000_000_000),
        ("50KiB", 50 * 1024),
        ("50MiB", 50 * 1024 * 1024),
        ("1GiB", 1 << 30),
        ("1TiB", 1 << 40),
        ("50mb", 50_000_000),
        ("50 MB", 50_000_000),
        ("10mib", 10 << 20),
    ])
    func parsesSizes(text: String, expected: Int) {
        #expect(SizeSyntax.parse(text) == expected)
    }

    @Test(arguments: [
        "", "MB", "huge", "-5MB", "5.5MB", "5  MB", " 5MB", "5MB ", "5M", "5Mb?", "5 PB", "9999999999999999999",
        "99999999999GB",
    ])
    func refusesOtherText(text: String) {
        #expect(SizeSyntax.parse(text) == nil)
    }

    @Test(arguments: [
        (50_000_000, "50MB"),
        (52_428_800, "50MiB"),
        (1_000, "1KB"),
        (1_024, "1KiB"),
        (1_500, "1500"),
        (1, "1"),
        (1_000_000_000, "1GB"),
        (1_048_576_000, "1000MiB"),
    ])
    func formatsWithTheLargestExactUnit(bytes: Int, expected: String) {
        #expect(SizeSyntax.format(bytes) == expected)
        #expect(SizeSyntax.parse(expected) == bytes)
    }

    @Test(arguments: [
        ("max_message_size = \"50MB\"", 50_000_000),
        ("max_message_size = \"50MiB\"", 52_428_800),
        ("max_message_size = 1234", 1234),
        ("max_message_size = \"1234\"", 1234),
    ])
    func theConfigurationTakesIntegersAndStrings(line: String, expected: Int) throws {
        #expect(try Fixtures.parse("[limits]\n\(line)").limits.maxMessageSize == expected)
    }
}
