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

    /// The server's reading of one request line (without its LF): the request, or the error the
    /// client is answered with. Any octets at all give one or the other (fuzzed: `make fuzz`).
    public static func decodeRequest(_ line: [UInt8]) -> Result<ControlRequest, ControlError> {
        guard line.count <= maximumLineLength else {
            return .failure(ControlError(code: "bad_request", message: "request longer than \(maximumLineLength) octets"))
        }
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: Data(line)) else {
            return .failure(
                ControlError(code: "bad_request", message: "not a control request (a JSON object with version, command, arguments)"))
        }
        guard request.version == version else {
            return .failure(ControlError(code: "version", message: "protocol version \(request.version) is not \(version)"))
        }
        return .success(request)
    }

    /// The client's reading of one response line (without its LF); nil when it is not one.
    public static func decodeResponse(_ line: [UInt8]) -> ControlResponse? {
        try? JSONDecoder().decode(ControlResponse.self, from: Data(line))
    }
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
