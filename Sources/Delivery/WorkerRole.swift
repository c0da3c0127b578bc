import DeliveryCore
import Control
import Foundation
import Logging
import RelayMetrics
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
    private let ready = NIOLockedValueBox(ReadyQueue(loadedAt: 0))
    private let shuttingDown = NIOLockedValueBox(false)
    private let spoolReads = NIOLockedValueBox(SpoolReadTrigger())
    private let pauses: PauseFile
    private let unrecorded = UnrecordedOutcomes()
    private let spoolReplacedReported = NIOLockedValueBox(false)

    /// How often the spool is checked when nothing else wakes the scheduler.
    static let pollInterval = TimeAmount.milliseconds(500)

    /// Told once the control socket is up.
    private let onReady: @Sendable () -> Void
    private let metrics: RelayMetrics?

    public init(
        configuration: RelayConfiguration, spool: Spool, group: any EventLoopGroup, logger: Logger,
        onReady: @escaping @Sendable () -> Void = {}, metrics: RelayMetrics? = nil
    ) {
        self.metrics = metrics
        self.onReady = onReady
        self.configuration = configuration
        pauses = PauseFile(spoolDirectory: configuration.spoolDir)
        self.spool = spool
        self.group = group
        self.logger = logger
    }

    /// New mail was committed: look at the spool now.
    public func kick() {
        spoolChanged()
    }

    /// Something was queued or changed behind the ready queue's back: read the spool at the next pass.
    private func spoolChanged() {
        spoolReads.withLockedValue { $0.changed = true }
        wake.signal()
    }

    public func run() async throws {
        let store = DeliveryStore(spool: spool)
        defer { store.close() }
        do {
            let (all, domains) = try pauses.load()
            scheduler.withLockedValue { state in
                state.pausedAll = all
                state.pausedDomains = domains
            }
            if all || !domains.isEmpty {
                logger.notice("delivery paused by relayctl pause", metadata: [
                    "all": "\(all)", "domains": "\(domains.sorted().joined(separator: ","))",
                ])
            }
        } catch {
            logger.error("cannot read the pause state; delivery is not paused", metadata: [
                "file": "\(pauses.path)", "reason": "\(error)",
            ])
        }
        try store.recoverActive()
        let resolver = try DNSResolver(
            configuration: DNSResolver.Configuration(servers: configuration.dns.servers, timeout: configuration.dns.timeout))
        let cache = ConnectionCache()
        let agent = DeliveryAgent(
            configuration: configuration, mx: MXResolver(resolver: resolver), group: group, cache: cache, logger: logger,
            tlsContexts: TLSContextCache(), localAddresses: LocalAddresses.current())
        let policy = RetryPolicy(
            minimumBackoff: configuration.delivery.minBackoff.seconds, maximumBackoff: configuration.delivery.maxBackoff.seconds,
            maximumLifetime: configuration.delivery.maxQueueLifetime.seconds)
        let recorder = OutcomeRecorder(
            store: store, unrecorded: unrecorded, policy: policy, delayWarning: configuration.delivery.delayWarning?.seconds, logger: logger,
            bounces: BounceFactory(hostname: configuration.hostname, postmaster: configuration.postmasterAddress, spool: spool),
            metrics: metrics)
        let started = Date().timeIntervalSince1970
        let administration = QueueAdministration(spool: spool)
        let control = ControlServer(
            path: configuration.runDir + "/" + ControlProtocol.socketName, logger: logger
        ) { [self] request, peerUID in
            handle(request, peerUID: peerUID, started: started, store: store, administration: administration, recorder: recorder)
        }
        try control.start()
        defer { control.stop() }
        // Queue gauges every few seconds: counting is a spool scan, not a per-delivery cost.
        let figures = metrics.map { metrics in
            group.next().scheduleRepeatedTask(initialDelay: .zero, delay: .seconds(5)) { _ in
                Self.publish(try store.figures(), to: metrics)
            }
        }
        defer { figures?.cancel() }
        onReady()
        logger.notice("worker started", metadata: ["concurrency": "\(configuration.delivery.concurrency)"])
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { tasks in
                while !shuttingDown.withLockedValue({ $0 }) {
                    var jobs: [DeliveryJob] = []
                    var pause = Self.pollInterval
                    checkSpoolOnDisk()
                    do {
                        guard recordKeptOutcomes(store) else {
                            await wake.wait(timeout: Self.unrecordedRetryInterval, on: group.next())
                            continue
                        }
                        let read: Bool
                        (jobs, read) = try plan(store: store)
                        // Only an idle pass that has just read the spool needs to know when the
                        // next retry is due: while deliveries run, each one's end wakes the loop,
                        // and the poll reads the spool anyway.
                        if jobs.isEmpty && read, let next = try store.nextDueTime() {
                            spoolReads.withLockedValue { $0.dueAt = next }
                        }
                        if let next = spoolReads.withLockedValue({ $0.dueAt }) {
                            let seconds = next - Date().timeIntervalSince1970
                            if seconds > 0 { pause = min(pause, .milliseconds(Int64(seconds * 1000) + 1)) }
                        }
                    } catch {
                        logger.error("cannot read the queue", metadata: ["reason": "\(error)"])
                    }
                    for job in jobs {
                        tasks.addTask { [self] in
                            let queuedMore = await run(job, store: store, agent: agent, recorder: recorder)
                            scheduler.withLockedValue { $0.finished(job.destination) }
                            if queuedMore { spoolChanged() } else { wake.signal() }
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

    /// How often writes the spool refused are tried again, deliveries stopped meanwhile.
    static let unrecordedRetryInterval = TimeAmount.seconds(1)

    /// Says once, at level critical, that `spool.sqlite` was deleted or replaced. Deliveries go
    /// on: the file this process holds open may be the only copy of that mail left.
    private func checkSpoolOnDisk() {
        let replaced = !spool.isStillOnDisk
        metrics?.spoolReplaced.set(Double(replaced ? 1 : 0))
        guard replaced, !spoolReplacedReported.withLockedValue({ reported in defer { reported = true }; return reported }) else { return }
        logger.critical("the spool database was deleted or replaced; delivering what this process still holds, then restart the relay", metadata: [
            "path": "\(configuration.spoolDir)/\(Spool.databaseName)",
        ])
    }

    /// Writes what the spool refused earlier. - Returns: whether nothing is left, so deliveries
    /// may go on.
    private func recordKeptOutcomes(_ store: DeliveryStore) -> Bool {
        guard unrecorded.count > 0 else { return true }
        let (written, dropped, left) = unrecorded.retry(store)
        for reason in dropped {
            logger.error("a kept delivery outcome cannot be written and is dropped", metadata: ["reason": "\(reason)"])
        }
        metrics?.unrecordedOutcomes.set(Double(left))
        if left == 0 {
            logger.notice("delivery outcomes recorded after a storage failure; deliveries resume", metadata: ["written": "\(written)"])
            spoolChanged()
        }
        return left == 0
    }

    /// Messages one delivery job carries to its destination, one after another over the same
    /// connection: fewer scheduling passes and claims, and the connection stays busy.
    static let messagesPerJob = 8

    private static func publish(_ figures: QueueFigures, to metrics: RelayMetrics) {
        for (state, count) in figures.messages { metrics.queueMessages(state: state).set(Double(count)) }
        let age = figures.oldestArrival.map { max(0, Date().timeIntervalSince1970 - $0) } ?? 0
        metrics.oldestMessageSeconds.set(age)
        metrics.publishDeferred(figures.deferredByDomain)
    }

    /// Answers one control request (docs/CONTROL-PROTOCOL.md).
    private func handle(
        _ request: ControlRequest, peerUID: UInt32, started: Double, store: DeliveryStore,
        administration: QueueAdministration, recorder: OutcomeRecorder
    ) -> ControlResponse {
        let arguments = request.arguments
        let selection: QueueSelection? =
            if arguments["all"] == "1" { .all }
            else if let domain = arguments["domain"], !domain.isEmpty { .domain(domain) }
            else if let ids = arguments["ids"], !ids.isEmpty { .ids(ids.split(separator: ",").map(String.init)) }
            else { nil }
        func answer(_ outcome: QueueAdministration.Outcome) -> ControlResponse {
            // One line per message an operator changed, as postsuper logs each queue id.
            for queueID in outcome.queueIDs {
                logger.notice("\(request.command)", metadata: ["id": "\(queueID)", "uid": "\(peerUID)", "by": "relayctl"])
            }
            spoolChanged()
            return .success(["messages": "\(outcome.messages)", "unknown": outcome.unknownIDs.joined(separator: ",")])
        }
        let now = Date().timeIntervalSince1970
        do {
            switch request.command {
            case "kick":
                spoolChanged()
                return .success()
            case "metrics":
                // The listener serves the one /metrics endpoint and appends these.
                return .success(["text": metrics.map { String(decoding: $0.text(), as: UTF8.self) } ?? ""])
            case "status":
                let state = scheduler.withLockedValue { $0 }
                return .success([
                    "pid": "\(getpid())", "up_since": "\(Int(started))", "deliveries_in_flight": "\(state.total)",
                    "paused": state.pausedAll ? "1" : "0",
                    "paused_destinations": state.pausedDomains.sorted().joined(separator: ","),
                    "unrecorded_outcomes": "\(unrecorded.count)", "storage_error": unrecorded.lastError ?? "",
                    "spool_replaced": spool.isStillOnDisk ? "0" : "1",
                ])
            case "pause", "resume":
                let pausing = request.command == "pause"
                let (all, domains) = scheduler.withLockedValue { state in
                    if let domain = arguments["domain"], !domain.isEmpty {
                        if pausing { state.pausedDomains.insert(domain.lowercased()) } else { state.pausedDomains.remove(domain.lowercased()) }
                    } else {
                        state.pausedAll = pausing
                        if !pausing { state.pausedDomains.removeAll() }
                    }
                    return (state.pausedAll, state.pausedDomains)
                }
                do {
                    try pauses.save(all: all, domains: domains)
                } catch {
                    return .failure("failed", "\(request.command) applies until the worker restarts: cannot write \(pauses.path): \(error)")
                }
                logger.notice("\(request.command)d", metadata: ["domain": "\(arguments["domain"] ?? "*")", "uid": "\(peerUID)"])
                wake.signal()
                return .success()
            case "flush", "hold", "release", "delete", "bounce":
                guard let selection else { return .failure("bad_request", "name queue ids, a domain, or all") }
                switch request.command {
                case "flush":
                    if case .domain(let domain) = selection {
                        // Only that domain's destinations: its MX, or the route that carries it.
                        let carrier = Destination.of("postmaster@" + domain, routes: configuration.routes)
                        scheduler.withLockedValue { $0.clearBackoff { $0 == carrier } }
                    } else {
                        scheduler.withLockedValue { $0.clearBackoff() }
                    }
                    ready.withLockedValue { $0 = ReadyQueue(loadedAt: 0) }
                    return answer(try administration.flush(selection, now: now))
                case "hold":
                    ready.withLockedValue { $0 = ReadyQueue(loadedAt: 0) }
                    return answer(try administration.hold(selection))
                case "release": return answer(try administration.release(selection, now: now))
                case "delete":
                    ready.withLockedValue { $0 = ReadyQueue(loadedAt: 0) }
                    return answer(try administration.delete(selection))
                default:
                    guard case .ids(let queueIDs) = selection else {
                        return .failure("bad_request", "bounce takes queue ids")
                    }
                    let (found, unknown) = try administration.pendingMessageIDs(queueIDs)
                    ready.withLockedValue { $0 = ReadyQueue(loadedAt: 0) }
                    var bounced: [String] = []
                    for id in found {
                        guard let message = try store.pendingMessage(id: id), !message.recipients.isEmpty else { continue }
                        bounced.append(message.queueID)
                        let results = Dictionary(uniqueKeysWithValues: message.recipients.map {
                            ($0.id, AttemptResult(outcome: .bounced(status: "5.0.0"), reply: "returned to sender by the postmaster", relay: "none"))
                        })
                        recorder.recordNow(message, results: results, body: try store.bodyChunks(messageID: id))
                    }
                    return answer(QueueAdministration.Outcome(messages: bounced.count, unknownIDs: unknown, queueIDs: bounced))
                }
            default:
                return .failure("unknown_command", "unknown command \(request.command)")
            }
        } catch {
            return .failure("failed", "\(error)")
        }
    }

    /// Chooses what to start now and claims it, in one transaction.
    /// - Returns: the jobs, and whether the spool was read for due mail.
    ///
    /// Due mail read from the spool waits in memory per destination (as in Postfix's queue
    /// manager) until its destination has a free slot, so a pass after a finished delivery
    /// costs a few dictionary operations, not a spool scan. The spool is read again when the
    /// waiting mail runs low, and the memory is dropped every few seconds so that changes made
    /// behind the worker's back (relayctl) are seen; claiming re-checks each recipient's state.
    private func plan(store: DeliveryStore) throws -> (jobs: [DeliveryJob], read: Bool) {
        let now = Date().timeIntervalSince1970
        let delivery = configuration.delivery
        let free = scheduler.withLockedValue { delivery.concurrency - $0.total }
        guard free > 0 else { return ([], false) }
        let wanted = free * Self.messagesPerJob
        let (held, stale) = ready.withLockedValue { ($0.messageIDs, now - $0.loadedAt > Self.readyLifetime) }
        if stale { ready.withLockedValue { $0 = ReadyQueue(loadedAt: now) } }
        // The spool is read when something may have changed there (a kick, an operator, a DSN
        // queued), when a retry falls due, and at every poll — not after every delivery.
        let read =
            stale
            || (ready.withLockedValue({ $0.count }) < wanted
                && spoolReads.withLockedValue { $0.consume(now: now, poll: Double(Self.pollInterval.nanoseconds) / 1e9) })
        if read {
            // Read enough for every slot at once, so that a backlog is not read a job at a time.
            let limit = max(wanted, delivery.concurrency * Self.messagesPerJob)
            let fresh = try store.dueMessages(now: now, limit: limit, skipping: stale ? [] : held)
            spoolReads.withLockedValue { $0.read(found: fresh.count, limit: limit) }
            ready.withLockedValue { queue in
                if queue.count == 0 { queue.loadedAt = now }
                for message in fresh { queue.add(message, routes: configuration.routes, batch: delivery.maxRcptPerTransaction) }
            }
        }
        let candidates = ready.withLockedValue { queue in
            queue.take(perJob: Self.messagesPerJob, paused: scheduler.withLockedValue { $0.pausedDomains }) { destination in
                scheduler.withLockedValue { state in
                    state.admit(
                        destination, now: now, total: delivery.concurrency,
                        perDestination: delivery.perDestinationConcurrency)
                }
            }
        }
        guard !candidates.isEmpty else { return ([], read) }
        let claimed: [Set<Int64>]
        let texts: [Int64: [Data]]
        do {
            (claimed, texts) = try store.claim(
                candidates.map { $0.messages.flatMap { $0.recipients.map(\.id) } },
                texts: Set(candidates.flatMap { $0.messages.filter { $0.size <= Self.textReadWithClaim }.map(\.id) }))
        } catch {
            scheduler.withLockedValue { state in for job in candidates { state.finished(job.destination) } }
            throw error
        }
        var jobs: [DeliveryJob] = []
        for (job, ids) in zip(candidates, claimed) {
            var claimedJob = job
            claimedJob.messages = job.messages.compactMap { message in
                var kept = message
                kept.recipients = message.recipients.filter { ids.contains($0.id) }
                kept.text = texts[message.id]
                return kept.recipients.isEmpty ? nil : kept
            }
            guard !claimedJob.messages.isEmpty else {
                scheduler.withLockedValue { $0.finished(job.destination) }
                continue
            }
            jobs.append(claimedJob)
        }
        return (jobs, read)
    }

    /// Messages up to this size (octets) have their text read in the claiming transaction; larger
    /// ones are read when their turn comes, so a pass holds at most a few megabytes of text.
    static let textReadWithClaim = 64 * 1024

    /// How long due mail may wait in memory before the spool is read afresh.
    static let readyLifetime: Double = 5

    /// Delivers a job's messages in turn.
    /// - Returns: whether anything but deliveries came of it (a DSN queued, a retry set), so the
    ///   spool should be read again soon.
    private func run(_ job: DeliveryJob, store: DeliveryStore, agent: DeliveryAgent, recorder: OutcomeRecorder) async
        -> Bool
    {
        var queuedMore = false
        /// Records one message's results. - Returns: when to retry if the destination failed as a whole.
        func settle(_ message: DueMessage, _ results: [Int64: AttemptResult], _ body: [Data]) async -> Double? {
            if !queuedMore {
                queuedMore = results.values.contains { if case .delivered = $0.outcome { false } else { true } }
            }
            return await recorder.record(message, results: results, body: body)
        }
        // The end of each message but the last is held back to travel with the next message's
        // commands (see SMTPDeliverySession); it is settled, and recorded, by the next delivery.
        var held: (delivery: HeldDelivery, message: DueMessage, body: [Data])?
        for (index, message) in job.messages.enumerated() {
            // A refused outcome write stops deliveries: the rest of the job goes back untried.
            if !unrecorded.isEmpty {
                recorder.release(job.messages[index...].flatMap { $0.recipients.map(\.id) }, nextAttempt: Date().timeIntervalSince1970)
                break
            }
            let body: [Data]
            do {
                body = try message.text ?? store.bodyChunks(messageID: message.id)
                // Never send a text that is not the whole stored message: a message deleted
                // meanwhile (an operator's delete, or a commit that failed after reaching the
                // WAL) reads as no chunks at all, which would go upstream as an empty DATA.
                let octets = body.reduce(0) { $0 + $1.count }
                guard octets == message.size else {
                    throw SpoolError.body("the stored text has \(octets) of its \(message.size) octets")
                }
            } catch {
                logger.error("cannot read message text", metadata: ["id": "\(message.queueID)", "reason": "\(error)"])
                recorder.release(message.recipients.map(\.id), nextAttempt: Date().timeIntervalSince1970 + 60)
                continue
            }
            let (previous, current) = await agent.deliver(
                message: message, recipients: message.recipients, to: job.destination, body: body, after: held?.delivery,
                hold: index < job.messages.count - 1)
            if let earlier = held {
                held = nil
                let settled: [Int64: AttemptResult]
                if let previous { settled = previous } else { settled = await agent.finish(earlier.delivery) }
                _ = await settle(earlier.message, settled, earlier.body)
            }
            switch current {
            case .held(let delivery):
                held = (delivery, message, body)
            case .done(let results):
                if let retry = await settle(message, results, body) {
                    // The whole destination failed: leave its other mail alone until then, and give
                    // back the rest of this job without counting an attempt.
                    scheduler.withLockedValue { $0.backOff(job.destination, until: retry) }
                    let rest = job.messages.dropFirst(index + 1).flatMap { $0.recipients.map(\.id) }
                    recorder.release(rest, nextAttempt: retry)
                    return true
                }
            }
        }
        if let last = held {
            _ = await settle(last.message, await agent.finish(last.delivery), last.body)
        }
        return queuedMore
    }
}

extension Duration {
    /// Seconds as a Double.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
