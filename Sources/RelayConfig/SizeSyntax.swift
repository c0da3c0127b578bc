/// Sizes as the configuration writes them: an integer of bytes, or a string with a unit,
/// `"50MB"` (decimal, 10^6), `"50MiB"` (binary, 2^20), also `KB`/`GB`/`KiB`/`GiB`/`B`.
package enum SizeSyntax {
    /// The units, largest first; decimal before binary so that ``format(_:)`` prefers `MB`.
    private static let units: [(suffix: String, bytes: Int)] = [
        ("TB", 1_000_000_000_000), ("TiB", 1 << 40),
        ("GB", 1_000_000_000), ("GiB", 1 << 30),
        ("MB", 1_000_000), ("MiB", 1 << 20),
        ("KB", 1_000), ("KiB", 1 << 10),
        ("B", 1),
    ]

    /// How an error message describes the expected form.
    package static let expectation = "a size such as 50MB"

    /// Parses a size string. Units are case-insensitive (`"50mb"`), and one space may separate
    /// them from the number (`"50 MB"`); plain digits are bytes.
    /// - Parameter text: e.g. `"50MB"`, `"10MiB"`, `"1000"`.
    /// - Returns: The size in bytes, or `nil` when `text` is not of that form or overflows.
    package static func parse(_ text: String) -> Int? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        var suffix = text.dropFirst(digits.count)
        if suffix.hasPrefix(" ") { suffix = suffix.dropFirst() }
        guard !digits.isEmpty, digits.count <= 19, let count = Int(digits) else { return nil }
        let multiplier: Int
        if suffix.isEmpty {
            multiplier = 1
        } else if let unit = Self.units.first(where: { $0.suffix.lowercased() == suffix.lowercased() }) {
            multiplier = unit.bytes
        } else {
            return nil
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }

    /// Text that ``parse(_:)`` reads back as `bytes`: with the largest unit that divides it
    /// exactly (`"50MB"`, `"10MiB"`), else the plain number.
    /// - Parameter bytes: A size, not negative.
    /// - Returns: The size text.
    package static func format(_ bytes: Int) -> String {
        guard bytes > 0 else { return "\(bytes)" }
        for unit in Self.units where unit.bytes > 1 && bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(unit.suffix)"
        }
        return "\(bytes)"
    }
}
