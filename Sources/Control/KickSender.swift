import Foundation
import Logging

/// Tells the worker that new mail is in the spool, from a thread of its own so no commit ever
/// waits for it. Kicks are hints and merge: many commits while one kick is on its way cause one
/// more kick, not many. When the worker is down nothing is lost: it reads the spool at start.
public final class KickSender: @unchecked Sendable {
    private let client: ControlClient
    private let logger: Logger
    // `condition` guards `pending` and `stopped`; @unchecked Sendable rests on that.
    private let condition = NSCondition()
    private var pending = false
    private var stopped = false
    private var warned = false

    public init(socketPath: String, logger: Logger) {
        client = ControlClient(path: socketPath, timeout: 2)
        self.logger = logger
        let thread = Thread { [self] in run() }
        thread.name = "kick"
        thread.start()
    }

    /// Asks for a kick soon.
    public func kick() {
        condition.lock()
        pending = true
        condition.signal()
        condition.unlock()
    }

    public func stop() {
        condition.lock()
        stopped = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        while true {
            condition.lock()
            while !pending && !stopped { condition.wait() }
            if stopped {
                condition.unlock()
                return
            }
            pending = false
            condition.unlock()
            do {
                _ = try client.send(ControlRequest(command: "kick"))
                warned = false
            } catch {
                // Once per outage: the worker polls the spool, so nothing waits on this.
                if !warned { logger.notice("worker not told of new mail", metadata: ["reason": "\(error)"]) }
                warned = true
            }
            // Commits arriving meanwhile merge into the next kick: under load a kick per group
            // commit would cost the worker more than the latency it saves.
            usleep(Self.minimumInterval)
        }
    }

    /// Least time between two kicks, in microseconds.
    static let minimumInterval: UInt32 = 20_000
}
