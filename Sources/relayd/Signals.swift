import CRelayShims
import Foundation
import Logging
import RelayConfig

/// Says that a role is ready: to the supervisor (a line on stdout) when run by `relayd serve`,
/// else to systemd (READY=1 on $NOTIFY_SOCKET, when set).
func announceReady() {
    if ProcessInfo.processInfo.environment["RELAYD_SUPERVISED"] == "1" {
        FileHandle.standardOutput.write(Data("READY\n".utf8))
    } else {
        _ = CRelayShims_sd_notify("READY=1")
    }
}

/// A role started by `relayd serve` ends (gracefully, SIGTERM) when its supervisor does, even
/// when the supervisor was killed with SIGKILL; it exits at once (75) when the supervisor is
/// already gone.
func exitWithSupervisor() {
    guard let text = ProcessInfo.processInfo.environment["RELAYD_SUPERVISOR_PID"], let parent = pid_t(text) else { return }
    if CRelayShims_exit_with_parent(parent) != 0 {
        FileHandle.standardError.write(Data("relayd: the supervisor (pid \(parent)) is gone; exiting\n".utf8))
        exit(ExitStatus.temporaryFailure)
    }
}

/// Calls `reload` with the re-read configuration on every SIGHUP; a file that does not load is
/// refused with a log line, and the running configuration stays.
/// - Returns: the signal source; keep it for as long as reloads should work.
func onReloadSignal(
    _ option: ConfigurationOption, logger: Logger, reload: @escaping @Sendable (RelayConfiguration) -> Void
) -> any DispatchSourceSignal {
    signal(SIGHUP, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "relayd.reload"))
    let path = option.resolvedPath
    source.setEventHandler {
        do {
            reload(try RelayConfiguration.load(path: path, isolation: ConfigurationOption.isolation))
        } catch {
            logger.error("reload refused; keeping the running configuration", metadata: ["reason": "\(error)"])
        }
    }
    source.resume()
    return source
}

/// Whatever umask the caller left (a shell's 000, a unit's 0027), what a role creates — the
/// spool, its database and spill files, the control socket, status files — is the relay user's
/// alone: 0700 directories, 0600 files. Mail is private (issue 13).
func restrictFileModes() {
    umask(0o077)
}

/// A peer that goes away while it is written to (a relayctl client that gives up, a child
/// that died) is an error to handle, never a reason for the daemon to die of SIGPIPE.
func ignoreBrokenPipes() {
    signal(SIGPIPE, SIG_IGN)
}

/// This program's own path, for starting roles (serve) or restarting in place (reload).
func currentExecutable() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}
