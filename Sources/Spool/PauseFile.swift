import Foundation

/// What `relayctl pause` stopped, kept in `<spool_dir>/paused.json` so that delivery stays
/// paused across a restart or a reload of the worker until `relayctl resume`: an operator who
/// paused a broken destination must not find it resumed by a restart.
public struct PauseFile: Sendable {
    public let path: String

    private struct Contents: Codable {
        var all: Bool
        var domains: [String]
    }

    public init(spoolDirectory: String) {
        path = spoolDirectory + "/paused.json"
    }

    /// - Returns: nothing paused when the file does not exist.
    public func load() throws -> (all: Bool, domains: Set<String>) {
        guard FileManager.default.fileExists(atPath: path) else { return (false, []) }
        let contents = try JSONDecoder().decode(Contents.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        return (contents.all, Set(contents.domains))
    }

    /// Writes the state (atomically); nothing paused removes the file.
    public func save(all: Bool, domains: Set<String>) throws {
        guard all || !domains.isEmpty else {
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            return
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try encoder.encode(Contents(all: all, domains: domains.sorted())).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
