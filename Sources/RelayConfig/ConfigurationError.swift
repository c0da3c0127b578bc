/// A problem in the configuration: a TOML syntax error, an unknown key, a wrong type, an
/// impossible value, or a file that cannot be read.
///
/// The description is one line for the operator, in the form compilers use:
/// `relayd.conf:12: limits.max_message_size: expected a size such as 50MB, got "huge"`
/// (`file:line: key: reason`; a part that is not known is left out).
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file, as given to ``RelayConfiguration/load(path:)`` or as the `source`
    /// of ``RelayConfiguration/parse(_:source:)``; empty when the value was parsed on its own.
    public var file: String

    /// The line (1-based) the problem is on, when it is on one.
    public var line: Int?

    /// The dotted key the problem is about (`limits.max_message_size`, `listener[1].mode`,
    /// `route[0].hosts[2]`), when it is about one.
    public var key: String?

    /// What is wrong, and what would be right.
    public var reason: String

    /// Creates an error.
    /// - Parameters:
    ///   - file: The configuration file; empty when unknown.
    ///   - line: The line (1-based), if known.
    ///   - key: The dotted key, if the problem is about one.
    ///   - reason: What is wrong.
    public init(file: String = "", line: Int? = nil, key: String? = nil, reason: String) {
        self.file = file
        self.line = line
        self.key = key
        self.reason = reason
    }

    /// `file:line: key: reason`, leaving out the parts that are not known.
    public var description: String {
        var location = self.file
        if let line = self.line { location += ":\(line)" }
        var parts: [String] = []
        if !location.isEmpty { parts.append(location) }
        if let key = self.key { parts.append(key) }
        parts.append(self.reason)
        return parts.joined(separator: ": ")
    }
}
