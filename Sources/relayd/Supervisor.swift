import CRelayShims
import Foundation
import Logging

/// `relayd serve`: runs the listener and the worker as child processes of this binary, restarts
/// a child that dies (1 s, doubling to 60 s; back to 1 s after a minute of good running), passes
/// SIGTERM/SIGINT on for a graceful drain of both and SIGHUP for reload, and tells systemd
/// READY=1 once both children said they are ready (and STOPPING=1 when draining).
///
/// Everything runs on one serial dispatch queue: signal sources, child exits and readiness
/// lines all arrive there, so the state needs no lock.
final class Supervisor: @unchecked Sendable {
    /// One supervised role. Touched only on `queue`; @unchecked Sendable rests on that.
    private final class Child: @unchecked Sendable {
        let role: String
        var process: Process?
        var backoff: Double = 1
        var startedAt = Date()
        var ready = false
        init(role: String) { self.role = role }
    }

    private let queue = DispatchQueue(label: "relayd.supervisor")
    private let executable: String
    private let configPath: String
    private let logger: Logger
    private let children = [Child(role: "listener"), Child(role: "worker")]
    private var stopping = false
    private var announcedReady = false
    private var signalSources: [DispatchSourceSignal] = []
    private let finished = DispatchSemaphore(value: 0)
    /// What `run` returns: 0, or 78 when a child refused the configuration.
    private var exitStatus: Int32 = 0

    static let maximumBackoff: Double = 60

    init(executable: String, configPath: String, logger: Logger) {
        self.executable = executable
        self.configPath = configPath
        self.logger = logger
    }

    /// Starts both children and returns when both have exited after a SIGTERM or SIGINT (0),
    /// or after a child refused the configuration (78).
    func run() -> Int32 {
        queue.sync {
            for (signal, action) in [(SIGTERM, stop), (SIGINT, stop), (SIGHUP, reload)] as [(Int32, () -> Void)] {
                Foundation.signal(signal, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
                source.setEventHandler(handler: action)
                source.resume()
                signalSources.append(source)
            }
            for child in children { start(child) }
        }
        finished.wait()
        return queue.sync { exitStatus }
    }

    private func start(_ child: Child) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [child.role, "-c", configPath]
        // Started by hand from a directory the relay user may not enter (`sudo -u relayd` in
        // root's home), spawning in the inherited one fails with EACCES: the roles then run
        // from `/`, as under systemd. Otherwise they keep it, for relative paths (`make run`).
        if access(FileManager.default.currentDirectoryPath, X_OK) != 0 {
            process.currentDirectoryURL = URL(fileURLWithPath: "/")
        }
        var environment = ProcessInfo.processInfo.environment
        environment["RELAYD_SUPERVISED"] = "1"
        environment["RELAYD_SUPERVISOR_PID"] = "\(getpid())"  // the child ends when this process does
        environment["NOTIFY_SOCKET"] = nil  // only the supervisor talks to systemd
        process.environment = environment
        let readiness = Pipe()
        process.standardOutput = readiness
        readiness.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            guard !data.isEmpty, let self else {
                handle.readabilityHandler = nil
                return
            }
            if String(decoding: data, as: UTF8.self).contains("READY") {
                self.queue.async { self.childReady(child) }
            }
        }
        process.terminationHandler = { [weak self] process in
            guard let self else { return }
            self.queue.async { self.childExited(child, process: process) }
        }
        do {
            try process.run()
            child.process = process
            child.startedAt = Date()
            child.ready = false
            logger.notice("child started", metadata: ["role": "\(child.role)", "pid": "\(process.processIdentifier)"])
        } catch {
            logger.error("cannot start child", metadata: ["role": "\(child.role)", "reason": "\(error)"])
            scheduleRestart(child)
        }
    }

    private func childReady(_ child: Child) {
        child.ready = true
        if !announcedReady && children.allSatisfy(\.ready) {
            announcedReady = true
            _ = CRelayShims_sd_notify("READY=1")
            logger.notice("ready")
        }
    }

    private func childExited(_ child: Child, process: Process) {
        guard child.process === process else { return }
        child.process = nil
        let status = process.terminationStatus
        let how = process.terminationReason == .uncaughtSignal ? "signal \(status)" : "status \(status)"
        if stopping {
            logger.notice("child stopped", metadata: ["role": "\(child.role)", "exit": "\(how)"])
            if children.allSatisfy({ $0.process == nil }) {
                logger.notice("stopped")
                finished.signal()
            }
            return
        }
        if process.terminationReason == .exit && status == 78 {
            // A configuration the child refuses (a certificate, a key, an unsupported key)
            // will not get better by restarting: stop, and say why, instead of looping.
            logger.critical("child refused the configuration; stopping", metadata: ["role": "\(child.role)"])
            exitStatus = 78
            stop()
            return
        }
        // A child that ran a good while has its backoff reset.
        if Date().timeIntervalSince(child.startedAt) > Self.maximumBackoff { child.backoff = 1 }
        logger.error(
            "child died", metadata: ["role": "\(child.role)", "exit": "\(how)", "restart_in": "\(Int(child.backoff))s"])
        scheduleRestart(child)
    }

    private func scheduleRestart(_ child: Child) {
        let delay = child.backoff
        child.backoff = min(Self.maximumBackoff, child.backoff * 2)
        queue.asyncAfter(deadline: .now() + delay) { [self] in
            guard !stopping, child.process == nil else { return }
            start(child)
        }
    }

    private func stop() {
        guard !stopping else { return }
        stopping = true
        _ = CRelayShims_sd_notify("STOPPING=1")
        logger.notice("stopping: draining both roles")
        for child in children { if let process = child.process { kill(process.processIdentifier, SIGTERM) } }
        if children.allSatisfy({ $0.process == nil }) { finished.signal() }
    }

    private func reload() {
        logger.notice("reload: passing SIGHUP to both roles")
        for child in children { if let process = child.process { kill(process.processIdentifier, SIGHUP) } }
    }
}
