import Control
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RelayConfig
import RelayMetrics

/// The one `/metrics` endpoint of `[metrics] address`, served by the listener with the worker's
/// metrics (read over the control socket) appended, so that no second port is taken. An address
/// that cannot be bound is logged and tried again every `retryInterval`: metrics never stop
/// mail from being accepted or delivered.
final class MetricsEndpoint: Sendable {
    static let retryInterval = TimeAmount.seconds(10)

    private struct State {
        var channel: (any Channel)?
        var retry: Scheduled<Void>?
        var stopped = false
    }

    private let state = NIOLockedValueBox(State())

    /// Starts serving (or trying to) when `[metrics]` has an address; otherwise does nothing.
    init(_ configuration: RelayConfiguration, metrics: RelayMetrics, group: any EventLoopGroup, logger: Logger) {
        guard let address = configuration.metrics.address else { return }
        let controlSocket = configuration.runDir + "/" + ControlProtocol.socketName
        bind(address: address, metrics: metrics, others: { Self.workerMetrics(controlSocket) }, group: group, logger: logger, failures: 0)
    }

    private func bind(
        address: ListenAddress, metrics: RelayMetrics, others: @escaping @Sendable () -> [UInt8], group: any EventLoopGroup,
        logger: Logger, failures: Int
    ) {
        let loop = group.next()
        Task {
            do {
                let server = try await MetricsServer.start(
                    host: address.host, port: address.port, metrics: metrics, others: others, group: group)
                // Kept under the lock `close()` takes, so a close in between cannot miss it.
                let kept = state.withLockedValue { state -> Bool in
                    guard !state.stopped else { return false }
                    state.channel = server
                    return true
                }
                guard kept else {
                    try? await server.close()
                    return
                }
                logger.notice("metrics", metadata: ["address": "\(address.host):\(address.port)"])
            } catch {
                // Said once loudly, then quietly at every retry.
                let level: Logger.Level = failures == 0 ? .error : .debug
                logger.log(
                    level: level, "cannot serve metrics; retrying",
                    metadata: [
                        "address": "\(address.host):\(address.port)", "reason": "\(error)",
                        "retry_in": "\(Self.retryInterval.nanoseconds / 1_000_000_000)s",
                    ])
                state.withLockedValue { state in
                    guard !state.stopped else { return }
                    state.retry = loop.scheduleTask(in: Self.retryInterval) {
                        self.bind(address: address, metrics: metrics, others: others, group: group, logger: logger, failures: failures + 1)
                    }
                }
            }
        }
    }

    /// Stops serving and retrying.
    func close() async {
        let channel = state.withLockedValue { state -> (any Channel)? in
            state.stopped = true
            state.retry?.cancel()
            return state.channel
        }
        try? await channel?.close()
    }

    /// The worker's metrics over its control socket, after `relay_worker_up` (0 when it does not
    /// answer, so an alert can tell a dead worker from an idle one).
    static func workerMetrics(_ socketPath: String) -> [UInt8] {
        var text = "# HELP relay_worker_up Whether the worker answered on its control socket\n# TYPE relay_worker_up gauge\n"
        if let response = try? ControlClient(path: socketPath, timeout: 2).send(ControlRequest(command: "metrics")),
            response.ok, let worker = response.result?["text"]
        {
            text += "relay_worker_up 1\n" + worker
        } else {
            text += "relay_worker_up 0\n"
        }
        return Array(text.utf8)
    }
}
