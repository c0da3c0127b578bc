import ArgumentParser
import Control
import Foundation
import Spool

/// `relayctl queue show ID`: envelope, per-recipient state and attempt history.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Envelope, per-recipient state and attempt history of a message.")
    @OptionGroup var options: RelayctlOptions
    @Argument(help: "Queue id.") var id: String
    @Flag(help: "One JSON object (the listing's members plus attempts and client).") var json = false

    func run() throws {
        guard let details = try options.reader().details(queueID: id) else { fail("\(id): no such message in the queue", code: 65) }
        let reasons = WaitingReason(spoolDirectory: try options.configuration().spoolDir)
        if json {
            print(QueueJSON.details(details, reasons: reasons))
            return
        }
        let message = details.message
        print("queue id:  \(message.queueID) (\(message.queueName))")
        print("arrival:   \(Date(timeIntervalSince1970: message.arrivalTime))")
        print("size:      \(message.size)")
        print("sender:    <\(message.sender)>")
        print("client:    \(details.heloName) [\(details.clientAddress)]")
        for recipient in message.recipients {
            var line = "recipient: <\(recipient.address)> \(recipient.state), \(recipient.attempts) attempt(s)"
            if recipient.state != "held" { line += ", next \(Date(timeIntervalSince1970: recipient.nextAttempt))" }
            if let reason = reasons.of(recipient) { line += ", \(recipient.lastReply == reason ? "last: " : "")\(reason)" }
            print(line)
        }
        for attempt in details.attempts {
            print("attempt:   \(Date(timeIntervalSince1970: attempt.time)) <\(attempt.recipient)> \(attempt.relay ?? "-") \(attempt.dsn ?? "-") \(attempt.reply ?? "")")
        }
    }
}

/// `relayctl queue cat ID`: the stored message, byte for byte.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cat", abstract: "The stored message, byte for byte.")
    @OptionGroup var options: RelayctlOptions
    @Argument(help: "Queue id.") var id: String

    func run() throws {
        guard let chunks = try options.reader().text(queueID: id) else { fail("\(id): no such message in the queue", code: 65) }
        for chunk in chunks { FileHandle.standardOutput.write(chunk) }
    }
}

/// `relayctl status`: roles, uptime, queue counts, deliveries in flight, sessions.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Roles up, uptime, queue counts by state, active deliveries.")
    @OptionGroup var options: RelayctlOptions
    @Flag(help: "One JSON object.") var json = false

    func run() throws {
        let configuration = try options.configuration()
        // The roles are asked even when the spool cannot be read (deleted under the relay,
        // say): then the counts are unknown, and status says why.
        let counts: [String: Int]?
        let countsError: String?
        do {
            counts = try SpoolReader(directory: try options.configuration().spoolDir).counts()
            countsError = nil
        } catch {
            counts = nil
            countsError = "\(error)"
        }
        // The worker answers on the control socket; the listener leaves a status file.
        let worker = (try? ControlStatus.worker(options)) ?? nil
        let listener = ControlStatus.listener(runDir: configuration.runDir)
        if json {
            var object: [String: Any] = ["version": "0.1.0", "queue": counts ?? NSNull()]
            if let countsError { object["queue_error"] = countsError }
            let supervisor: Any = ControlStatus.supervisorPID(of: listener?["pid"] as? Int ?? worker?.pid) ?? NSNull()
            object["supervisor"] = ["pid": supervisor]
            object["listener"] = [
                "pid": listener?["pid"] ?? NSNull(), "up_since": listener?["up_since"] ?? NSNull(),
                "sessions": listener?["sessions"] ?? NSNull(),
                "spool_replaced": listener?["spool_replaced"] as? Bool ?? false,
            ] as [String: Any]
            object["worker"] = [
                "pid": worker?.pid ?? NSNull(), "up_since": worker?.upSince ?? NSNull(), "paused": worker?.paused ?? false,
                "paused_destinations": worker?.pausedDestinations ?? [], "deliveries_in_flight": worker?.inFlight ?? 0,
                "unrecorded_outcomes": worker?.unrecordedOutcomes ?? 0,
                "storage_error": worker?.storageError ?? NSNull(),
                "spool_replaced": worker?.spoolReplaced ?? false,
            ] as [String: Any]
            print(QueueJSON.encode(object))
            Self.exitIfDown(listener: listener, worker: worker)
            return
        }
        print("listener:  " + (listener.map { "up, pid \($0["pid"] ?? "?"), \($0["sessions"] ?? 0) session(s)" } ?? "down"))
        if listener?["spool_replaced"] as? Bool == true || worker?.spoolReplaced == true {
            print("           SPOOL DELETED OR REPLACED under the running relay: mail is refused; restart it")
        }
        if let worker {
            let paused = worker.paused ? ", delivery paused" : worker.pausedDestinations.isEmpty ? "" : ", paused for \(worker.pausedDestinations.joined(separator: " "))"
            print("worker:    up, pid \(worker.pid), \(worker.inFlight) deliveries in flight\(paused)")
            if worker.unrecordedOutcomes > 0 {
                print("           delivery stopped: \(worker.unrecordedOutcomes) outcome(s) the spool refused, retried every second (\(worker.storageError ?? "storage error"))")
            }
        } else {
            print("worker:    down")
        }
        if let counts {
            print("queue:     \(counts["queued", default: 0]) queued, \(counts["active", default: 0]) active, \(counts["deferred", default: 0]) deferred, \(counts["held", default: 0]) held")
        } else {
            print("queue:     unknown: \(countsError ?? "the spool cannot be read")")
        }
        Self.exitIfDown(listener: listener, worker: worker)
    }

    /// Monitoring and scripts read the exit status (as of `postfix status`): 69
    /// (EX_UNAVAILABLE) when a role is not running, after the status is printed.
    static func exitIfDown(listener: [String: Any]?, worker: ControlStatus.Worker?) {
        if listener == nil || worker == nil { Foundation.exit(69) }
    }
}

/// `relayctl pause|resume [--domain D]`.
struct PauseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop delivery (all, or to one destination domain); listening goes on.")
    @OptionGroup var options: RelayctlOptions
    @Option(help: "Only mail to this domain's MX hosts.") var domain: String?
    func run() throws {
        _ = try options.send("pause", domain.map { ["domain": $0] } ?? [:])
        print("paused" + (domain.map { " for \($0)" } ?? ""))
    }
}

struct ResumeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "resume", abstract: "Restart delivery (all, or to one destination domain).")
    @OptionGroup var options: RelayctlOptions
    @Option(help: "Only mail to this domain's MX hosts.") var domain: String?
    func run() throws {
        _ = try options.send("resume", domain.map { ["domain": $0] } ?? [:])
        print("resumed" + (domain.map { " for \($0)" } ?? ""))
    }
}

/// `relayctl reload`: re-read the configuration (same as SIGHUP to relayd serve).
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reload", abstract: "Re-read the configuration and TLS files (same as SIGHUP).")
    @OptionGroup var options: RelayctlOptions
    func run() throws {
        _ = try options.configuration()  // a broken file: exit 78 with the reason, nothing signalled
        let worker = try options.send("status")
        guard let pid = worker["pid"].flatMap(Int32.init) else { fail("the worker did not say its pid", code: 1) }
        // Under relayd serve, SIGHUP to the supervisor reaches both roles; else to the worker,
        // and to the listener named in its status file.
        if let supervisor = ControlStatus.supervisorPID(of: Int(pid)) {
            kill(Int32(supervisor), SIGHUP)
        } else {
            kill(pid, SIGHUP)
            let listener = ControlStatus.listener(runDir: try options.configuration().runDir)
            if let listenerPID = listener?["pid"] as? Int { kill(Int32(listenerPID), SIGHUP) }
        }
        print("reloading")
    }
}

/// Reads the roles' state.
enum ControlStatus {
    struct Worker {
        var pid: Int
        var upSince: Int
        var paused: Bool
        var pausedDestinations: [String]
        var inFlight: Int
        /// Outcomes the spool refused; deliveries stop while there are any.
        var unrecordedOutcomes: Int
        var storageError: String?
        var spoolReplaced: Bool
    }

    static func worker(_ options: RelayctlOptions) throws -> Worker? {
        let result = try options.sendQuietly("status")
        guard let result, let pid = result["pid"].flatMap(Int.init) else { return nil }
        return Worker(
            pid: pid, upSince: result["up_since"].flatMap(Int.init) ?? 0, paused: result["paused"] == "1",
            pausedDestinations: (result["paused_destinations"] ?? "").split(separator: ",").map(String.init),
            inFlight: result["deliveries_in_flight"].flatMap(Int.init) ?? 0,
            unrecordedOutcomes: result["unrecorded_outcomes"].flatMap(Int.init) ?? 0,
            storageError: result["storage_error"].flatMap { $0.isEmpty ? nil : $0 },
            spoolReplaced: result["spool_replaced"] == "1")
    }

    /// The listener's status file, if the listener is up.
    static func listener(runDir: String) -> [String: Any]? {
        guard let data = FileManager.default.contents(atPath: runDir + "/listener.status"),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            // EPERM: alive, but another user's (a monitoring user asking).
            let pid = object["pid"] as? Int, kill(Int32(pid), 0) == 0 || errno == EPERM
        else { return nil }
        return object
    }

    /// The pid of `relayd serve` when `pid`'s parent is one.
    static func supervisorPID(of pid: Int?) -> Int? {
        guard let pid, let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 2, let parent = Int(fields[1]),
            let command = try? String(contentsOfFile: "/proc/\(parent)/cmdline", encoding: .utf8)
        else { return nil }
        // The parent runs the same binary with `serve`.
        let words = command.split(separator: "\0")
        let sameBinary =
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(parent)/exe"))
            == (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))
        return words.dropFirst().first == "serve" && sameBinary ? parent : nil
    }
}

extension RelayctlOptions {
    /// Like `send`, but nil when the worker is down instead of exiting.
    func sendQuietly(_ command: String) throws -> [String: String]? {
        let path = try socketPath ?? (configuration().runDir + "/control.sock")
        let response: ControlResponse
        do {
            response = try ControlClient(path: path).send(ControlRequest(command: command))
        } catch where error.code == "forbidden" {
            fail("the worker may be running, but \(error.message)", code: 77)
        } catch {
            return nil
        }
        if response.error?.code == "forbidden" {
            // Up, but this user may not ask it: saying "down" would send a monitoring check
            // the wrong way. Exit 77 (EX_NOPERM) with the reason.
            fail("the worker is running, but \(response.error?.message ?? "this user may not use the control socket")", code: 77)
        }
        guard response.ok else { return nil }
        return response.result
    }
}
