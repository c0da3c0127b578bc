/// Spelling values as TOML text, for ``RelayConfiguration/effectiveTOML()`` and error messages.
package enum TOMLText {
    /// `text` as a TOML basic string, with quotes, backslashes and control characters escaped
    /// (TOML 1.0 "String").
    /// - Parameter text: Any string.
    /// - Returns: The quoted string, e.g. `"a \"b\""`.
    package static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\u{08}": result += "\\b"
            case "\t": result += "\\t"
            case "\n": result += "\\n"
            case "\u{0C}": result += "\\f"
            case "\r": result += "\\r"
            case "\u{00}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A TOML array of basic strings on one line, e.g. `["a", "b"]`.
    /// - Parameter items: The strings.
    /// - Returns: The array text; `[]` when empty.
    package static func array(_ items: [String]) -> String {
        "[" + items.map(quoted).joined(separator: ", ") + "]"
    }
}
