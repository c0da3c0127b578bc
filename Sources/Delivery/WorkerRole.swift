import DeliveryCore
import Control
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import RelayConfig
import RelayDNS
import ServiceLifecycle
import Spool

/// The worker role (`relayd worker`): schedules deliveries from the spool alone (so it needs
/// no word from the listener), groups each message's recipients by destination, delivers within
/// the global and per-destination concurrency limits, records every attempt, retries with
/// backoff and bounces when it must.
public final class WorkerRole: Service {
    private let configuration: RelayConfiguration
    private let spool: Spool
    private let group: any EventLoopGroup
    private let logger: Logger
    private let wake = WakeSignal()
    private let scheduler = NIOLockedValueBox(SchedulerState())
    private let shuttingDown = NIOLockedValueBox(false)

    /// How often the spool is checked when nothing else wakes the scheduler.
    static let pollInterval = TimeAmount.milliseconds(500)

    public init(configuration: RelayConfiguration, spool: Spool, group: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.spool = spool
        self.group = group
        self.logger = logger
    }

    /// New mail was committed: look at the spool now.
    public func kick() {
        wake.signal()
    }

    public func run() async throws {
        let store = DeliveryStore(spool: spool)
        try store.recoverActive()
        let resolver = try DNSResolver(
            configuration: DNSResolver.Configuration(servers: configuration.dns.servers, timeout: configuration.dns.timeout))
        let cache = ConnectionCache()
        let agent = DeliveryAgent(
            configuration: configuration, mx: MXResolver(resolver: resolver), group: group, cache: cache, logger: logger)
        let policy = RetryPolicy(
            minimumBackoff: configuration.delivery.minBackoff.seconds, maximumBackoff: configuration.delivery.maxBackoff.seconds,
            maximumLifetime: configuration.delivery.maxQueueLifetime.seconds)
        let recorder = OutcomeRecorder(
            store: store, policy: policy, logger: logger,
            bounces: BounceFactory(hostname: configuration.hostname, postmaster: configuration.postmasterAddress, spool: spool))
        let started = Date().timeIntervalSince1970
        let control = ControlServer(
            path: configuration.runDir + "/" + ControlProtocol.socketName, logger: logger
        ) { [self] request in
            switch request.command {
            case "kick":
                wake.signal()
                return .success()
            case "status":
                let inFlight = scheduler.withLockedValue { $0.total }
                return .success([
                    "pid": "\(getpid())", "up_since": "\(Int(started))", "deliveries_in_flight": "\(inFlight)",
                ])
            default:
                return .failure("unknown_command", "unknown command \(request.command)")
            }
        }
        try control.start()
        defer { control.stop() }
        logger.notice("worker started", metadata: ["concurrency": "\(configuration.delivery.concurrency)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { tasks in
                while !shuttingDown.withLockedValue({ $0 }) {
                    var jobs: [DeliveryJob] = []
                    var pause = Self.pollInterval
                    do {
                        jobs = try plan(store: store)
                        if let next = try store.nextDueTime() {
                            let seconds = next - Date().timeIntervalSince1970
                            if seconds > 0 { pause = min(pause, .milliseconds(Int64(seconds * 1000) + 1)) }
                        }
                    } catch {
                        logger.error("cannot read the queue", metadata: ["reason": "\(error)"])
                    }
                    for job in jobs {
                        tasks.addTask { [self] in
                            await run(job, store: store, agent: agent, recorder: recorder)
                            scheduler.withLockedValue { $0.finished(job.destination) }
                            wake.signal()
                        }
                    }
                    await wake.wait(timeout: pause, on: group.next())
                    await cache.closeIdle()
                }
            }
            await cache.closeAll()
        } onGracefulShutdown: { [self] in
            shuttingDown.withLockedValue { $0 = true }
            wake.signal()
        }
        logger.notice("worker stopped")
    }

    /// Chooses what to start now and claims it, in one transaction.
    private func plan(store: DeliveryStore) throws -> [DeliveryJob] {
        let now = Date().timeIntervalSince1970
        let delivery = configuration.delivery
        let free = scheduler.withLockedValue { delivery.concurrency - $0.total }
        guard free > 0 else { return [] }
        var candidates: [DeliveryJob] = []
        for message in try store.dueMessages(now: now, limit: free) {
            let groups = Dictionary(grouping: message.recipients) { Destination.of($0.address, routes: configuration.routes) }
            for (destination, recipients) in groups.sorted(by: { $0.key.description < $1.key.description }) {
                for start in stride(from: 0, to: recipients.count, by: delivery.maxRcptPerTransaction) {
                    let admitted = scheduler.withLockedValue { state in
                        state.admit(
                            destination, now: now, total: delivery.concurrency,
                            perDestination: delivery.perDestinationConcurrency)
                    }
                    guard admitted else { continue }
                    var job = message
                    job.recipients = Array(recipients[start..<min(start + delivery.maxRcptPerTransaction, recipients.count)])
                    candidates.append(DeliveryJob(message: job, destination: destination))
                }
            }
        }
        guard !candidates.isEmpty else { return [] }
        let claimed: [Set<Int64>]
        do {
            claimed = try store.claim(candidates.map { $0.message.recipients.map(\.id) })
        } catch {
            scheduler.withLockedValue { state in for job in candidates { state.finished(job.destination) } }
            throw error
        }
        var jobs: [DeliveryJob] = []
        for (job, ids) in zip(candidates, claimed) {
            guard !ids.isEmpty else {
                scheduler.withLockedValue { $0.finished(job.destination) }
                continue
            }
            var claimedJob = job
            claimedJob.message.recipients = job.message.recipients.filter { ids.contains($0.id) }
            jobs.append(claimedJob)
        }
        return jobs
    }

    private func run(_ job: DeliveryJob, store: DeliveryStore, agent: DeliveryAgent, recorder: OutcomeRecorder) async {
        let body: [Data]
        do {
            body = try store.bodyChunks(messageID: job.message.id)
        } catch {
            logger.error("cannot read message text", metadata: ["id": "\(job.message.queueID)", "reason": "\(error)"])
            try? store.release(job.message.recipients.map(\.id), nextAttempt: Date().timeIntervalSince1970 + 60)
            return
        }
        let results = await agent.deliver(
            message: job.message, recipients: job.message.recipients, to: job.destination, body: body)
        let unreachable = recorder.record(job.message, results: results, body: body)
        if let retry = unreachable {
            // The whole destination failed: leave its other mail alone until then.
            scheduler.withLockedValue { $0.backOff(job.destination, until: retry) }
        }
    }
}

struct DeliveryJob: Sendable {
    var message: DueMessage
    var destination: Destination
}

/// Deliveries in flight, and destinations that just failed as a whole.
struct SchedulerState: Sendable {
    private(set) var total = 0
    private var perDestination: [Destination: Int] = [:]
    private var backoff: [Destination: Double] = [:]

    mutating func admit(_ destination: Destination, now: Double, total limit: Int, perDestination destinationLimit: Int) -> Bool {
        if let until = backoff[destination] {
            guard until <= now else { return false }
            backoff[destination] = nil
        }
        guard total < limit, perDestination[destination, default: 0] < destinationLimit else { return false }
        total += 1
        perDestination[destination, default: 0] += 1
        return true
    }

    mutating func finished(_ destination: Destination) {
        total -= 1
        let remaining = perDestination[destination, default: 1] - 1
        perDestination[destination] = remaining > 0 ? remaining : nil
    }

    mutating func backOff(_ destination: Destination, until time: Double) {
        backoff[destination] = time
    }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
