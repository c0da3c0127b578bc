/// Durations as the configuration writes them: a whole number and one unit,
/// `"500ms"`, `"30s"`, `"5m"`, `"4h"`, `"5d"`.
package enum DurationSyntax {
    /// The units, largest first, with their length in milliseconds.
    private static let units: [(suffix: String, milliseconds: Int64)] = [
        ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1_000), ("ms", 1),
    ]

    /// How an error message describes the expected form.
    package static let expectation = "a duration such as 30s, 5m, 4h or 5d (units ms, s, m, h, d)"

    /// Parses a duration. A number without a unit is refused, so that `"30"` is never silently
    /// read as 30 seconds when minutes were meant.
    /// - Parameter text: e.g. `"30s"`.
    /// - Returns: The duration, or `nil` when `text` is not of that form or overflows.
    package static func parse(_ text: String) -> Duration? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let suffix = text.dropFirst(digits.count)
        guard !digits.isEmpty, digits.count <= 18, let count = Int64(digits),
            let unit = Self.units.first(where: { $0.suffix == suffix })
        else { return nil }
        let (milliseconds, overflow) = count.multipliedReportingOverflow(by: unit.milliseconds)
        guard !overflow else { return nil }
        return .milliseconds(milliseconds)
    }

    /// The shortest text that ``parse(_:)`` reads back as `duration`: the largest unit that
    /// divides it exactly. Below a millisecond, the value is rounded down to milliseconds.
    /// - Parameter duration: A duration, not negative.
    /// - Returns: e.g. `"5m"` for 300 seconds, `"90s"` for 90 seconds, `"0s"` for zero.
    package static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        // Too long to count in milliseconds (about 292 million years): whole seconds will do.
        guard seconds < Int64.max / 1_000 else { return "\(seconds)s" }
        let milliseconds = seconds * 1_000 + attoseconds / 1_000_000_000_000_000
        guard milliseconds != 0 else { return "0s" }
        // The last unit is 1 ms, which divides everything.
        let unit = Self.units.first { milliseconds % $0.milliseconds == 0 }!
        return "\(milliseconds / unit.milliseconds)\(unit.suffix)"
    }
}
