import TOMLKit

/// Collects the problems found while a document is decoded, each located by its key path.
///
/// Decoding goes on after a problem (using the default for that key), so that the problem that
/// comes first in the file is the one reported, whatever order TOMLKit lists keys in.
final class DecodingContext {
    let source: String
    let sourceMap: TOMLSourceMap
    private(set) var problems: [ConfigurationError] = []

    init(source: String, text: String) {
        self.source = source
        self.sourceMap = TOMLSourceMap(text: text)
    }

    /// Records a problem about the value at `path`.
    func report(_ reason: String, at path: ConfigPath) {
        self.problems.append(
            ConfigurationError(
                file: self.source,
                line: self.sourceMap.line(for: path),
                key: path.isRoot ? nil : path.description,
                reason: reason
            )
        )
    }

    /// Records a conversion problem found below `path`.
    func report(_ problem: DecodingProblem, at path: ConfigPath) {
        self.report(problem.reason, at: path.appending(contentsOf: problem.relativePath))
    }

    /// The problems in file order (those with no line last), stable otherwise.
    var problemsInFileOrder: [ConfigurationError] {
        self.problems.enumerated()
            .sorted { ($0.element.line ?? .max, $0.offset) < ($1.element.line ?? .max, $1.offset) }
            .map(\.element)
    }
}

/// How an error message names a TOML value's type: "a string", "an integer".
func describeType(_ type: TOMLType) -> String {
    switch type {
    case .table: return "a table"
    case .array: return "an array"
    case .string: return "a string"
    case .int: return "an integer"
    case .double: return "a floating-point number"
    case .bool: return "a boolean"
    case .date: return "a date"
    case .time: return "a time"
    case .dateTime: return "a date-time"
    }
}
