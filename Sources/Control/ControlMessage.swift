import Foundation

/// The control protocol: one JSON object per line each way over `<run_dir>/control.sock`
/// (docs/CONTROL-PROTOCOL.md). A request names a command; the response carries a result or an
/// error with a code. Requests with another `version` are refused, so a mismatched relayctl
/// and daemon fail loudly instead of misunderstanding each other.
public enum ControlProtocol {
    public static let version = 1
    /// Longest request line accepted, octets.
    public static let maximumLineLength = 64 * 1024
    /// The socket's file name inside `run_dir`.
    public static let socketName = "control.sock"
}

public struct ControlRequest: Codable, Sendable, Hashable {
    public var version: Int
    public var command: String
    public var arguments: [String: String]

    public init(command: String, arguments: [String: String] = [:]) {
        self.version = ControlProtocol.version
        self.command = command
        self.arguments = arguments
    }
}

public struct ControlError: Codable, Sendable, Hashable, Error, CustomStringConvertible {
    /// `bad_request`, `unknown_command`, `version`, `forbidden`, `unavailable`, `failed`.
    public var code: String
    public var message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

public struct ControlResponse: Codable, Sendable, Hashable {
    public var version: Int
    public var ok: Bool
    /// Command-specific members, as strings.
    public var result: [String: String]?
    public var error: ControlError?

    public static func success(_ result: [String: String] = [:]) -> ControlResponse {
        ControlResponse(version: ControlProtocol.version, ok: true, result: result, error: nil)
    }

    public static func failure(_ code: String, _ message: String) -> ControlResponse {
        ControlResponse(version: ControlProtocol.version, ok: false, result: nil, error: ControlError(code: code, message: message))
    }
}
