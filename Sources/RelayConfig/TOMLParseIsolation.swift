import Foundation
import TOMLKit

/// Runs TOMLKit's parser on a text in a child process before the caller parses it itself.
/// toml++ (inside TOMLKit) is built with assertions, in release builds too: some malformed
/// documents (`[[` alone on a line, `a = [1,}]`) abort the process instead of throwing. A
/// daemon that reloads its file must not die of a typo, so the text is first parsed by a
/// throwaway child (this same executable, running `arguments`); only a text the child parsed
/// without aborting is parsed in-process — parsing is deterministic, so it cannot abort there.
public struct TOMLParseIsolation: Sendable {
    public var executable: String
    public var arguments: [String]

    /// - Parameters:
    ///   - executable: a program that parses its standard input with ``RelayConfiguration/parseTOMLOnly(_:)``.
    ///   - arguments: its arguments (a hidden subcommand).
    public init(executable: String, arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The hidden subcommand, in relayd and relayctl alike, that runs ``runChild()``.
    public static let childCommand = "parse-toml"

    /// This very executable (as `/proc/self/exe` names it) running ``childCommand``.
    public static func thisExecutable() -> TOMLParseIsolation {
        let path = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return TOMLParseIsolation(executable: path, arguments: [childCommand])
    }

    /// The child's side: parses standard input as TOML and returns, whatever the text; only an
    /// abort inside the parser ends the process.
    public static func runChild() {
        RelayConfiguration.parseTOMLOnly(String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self))
    }

    /// The line at which the parser aborts: the first line whose prefix of the text makes it
    /// abort (binary search), or nil when the whole text does not.
    func abortLine(of text: String) -> Int? {
        guard aborts(text) else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        var low = 1
        var high = lines.count
        while low < high {
            let middle = (low + high) / 2
            if aborts(lines[..<middle].joined(separator: "\n") + "\n") { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// Whether parsing `text` kills the child with a signal. A child that cannot be started
    /// proves nothing: then the text is taken as safe, as it was before this check existed.
    func aborts(_ text: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: "/")
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            return false
        }
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal
    }
}

extension RelayConfiguration {
    /// Parses `text` as TOML and throws the result away: the child's side of
    /// ``TOMLParseIsolation``. Returns normally for valid and invalid TOML alike; only an abort
    /// inside the parser ends the process.
    public static func parseTOMLOnly(_ text: String) {
        guard !text.utf8.contains(0) else { return }  // refused before the parser (C string)
        _ = try? TOMLTable(string: text)
    }
}
