import ArgumentParser
import Control
import Foundation
import RelayConfig
import Spool

/// `-c FILE` and `-s SOCKET`, shared by every relayctl command.
struct RelayctlOptions: ParsableArguments {
    @Option(name: [.customShort("c", allowingJoined: true), .customLong("config")], help: "Configuration file (default: $RELAYD_CONFIG or /etc/relayd/relayd.conf).")
    var configPath: String?

    @Option(name: [.customShort("s", allowingJoined: true), .customLong("socket")], help: "Control socket (default: <run_dir>/control.sock).")
    var socketPath: String?

    /// The configuration, or exit 78 with the reason.
    func configuration() throws -> RelayConfiguration {
        let path = configPath ?? ProcessInfo.processInfo.environment["RELAYD_CONFIG"] ?? "/etc/relayd/relayd.conf"
        do {
            return try RelayConfiguration.load(path: path, isolation: .thisExecutable())
        } catch {
            fail("\(error)", code: 78)
        }
    }

    func reader() throws -> SpoolReader {
        do {
            return try SpoolReader(directory: try configuration().spoolDir)
        } catch let error as SpoolError {
            fail("\(error)", code: 69)
        }
    }

    /// Sends a command to the worker; exits 69 when it is not running, 1 on its error.
    func send(_ command: String, _ arguments: [String: String] = [:]) throws -> [String: String] {
        let path = try socketPath ?? (configuration().runDir + "/" + ControlProtocol.socketName)
        let response: ControlResponse
        do {
            response = try ControlClient(path: path).send(ControlRequest(command: command, arguments: arguments))
        } catch {
            if error.code == "unavailable" { fail(error.message, code: 69) }
            if error.code == "forbidden" { fail(error.message, code: 77) }
            fail(error.message, code: 1)
        }
        guard response.ok else {
            let error = response.error ?? ControlError(code: "failed", message: "failed")
            fail(error.message, code: error.code == "config" ? 78 : error.code == "forbidden" ? 77 : 1)
        }
        return response.result ?? [:]
    }
}

/// Prints `relayctl: message` on stderr and exits.
/// The name errors are prefixed with: `sendmail` or `mailq` when called by that name, as
/// scripts and cron's mail expect.
let programName: String = {
    let name = (CommandLine.arguments.first ?? "").split(separator: "/").last.map(String.init) ?? ""
    return ["sendmail", "mailq"].contains(name) ? name : "relayctl"
}()

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("\(programName): \(message)\n".utf8))
    Foundation.exit(code)
}

/// Queue ids from the command line, `-` meaning "one per line on stdin".
func expandIDs(_ ids: [String]) -> [String] {
    ids.flatMap { id -> [String] in
        guard id == "-" else { return [id] }
        var read: [String] = []
        while let line = readLine() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if !trimmed.isEmpty { read.append(trimmed) }
        }
        return read
    }
}
