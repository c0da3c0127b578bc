/// A value that could not be converted, with the path below the key being read (an array
/// element, a key of an inline table), so that the report can name `route[0].hosts[1]`.
struct DecodingProblem: Error {
    /// Steps below the key being read; empty when the key's value itself is wrong.
    var relativePath: [ConfigPath.Component]
    /// What is wrong.
    var reason: String

    init(_ reason: String, at relativePath: [ConfigPath.Component] = []) {
        self.relativePath = relativePath
        self.reason = reason
    }
}
