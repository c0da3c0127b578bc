import Prometheus
import Synchronization

/// The metrics SPEC names, in one Prometheus registry per role process.
public final class RelayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    /// The listener's series, made at start so that each exists at 0 before its first event
    /// (an alert on `rate(...)` or `increase(...)` needs the series to exist), and
    /// `relay_build_info` (the listener serves the one endpoint for both roles).
    public func registerListenerSeries(version: String) {
        _ = sessionsActive
        _ = messagesAccepted
        _ = spoolCommitSeconds
        spoolReplaced.set(Double(0))
        for stage in ["CONNECT", "MAIL", "RCPT", "DATA", "BDAT", "END-OF-MESSAGE"] { _ = smtpRejects(stage: stage) }
        registry.makeGauge(
            descriptor: name("build", "info", "Relay's version, as a label; the value is 1"), labels: [("version", version)]
        ).set(Double(1))
    }

    /// The worker's series, made at start (see ``registerListenerSeries(version:)``).
    public func registerWorkerSeries() {
        for result in ["delivered", "deferred", "bounced", "expired"] { _ = deliveryAttempts(result: result) }
        for state in ["queued", "active", "deferred", "held"] { _ = queueMessages(state: state) }
        _ = deliverySeconds
        _ = oldestMessageSeconds
        unrecordedOutcomes.set(Double(0))
        spoolReplaced.set(Double(0))
    }

    /// Refusals of SMTP commands and messages by stage (CONNECT for `max_connections`, MAIL,
    /// RCPT, DATA, END-OF-MESSAGE): the `event=reject` log lines, counted.
    public func smtpRejects(stage: String) -> Counter {
        registry.makeCounter(
            descriptor: name("smtp_rejects", "total", "SMTP refusals by stage (connect, MAIL, RCPT, DATA, end of message)"),
            labels: [("stage", stage)])
    }

    /// The destination label is bounded: the `limit` destinations with the most deferred
    /// recipients by name, the rest summed as `other`; a destination no longer deferred loses
    /// its series, so an alert clears when the queue empties.
    public func publishDeferred(_ byDestination: [String: Int], limit: Int = 20) {
        let ranked = byDestination.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var shown = Dictionary(uniqueKeysWithValues: ranked.prefix(limit).map { ($0.key, $0.value) })
        let rest = ranked.dropFirst(limit).reduce(0) { $0 + $1.value }
        if rest > 0 { shown["other"] = rest }
        published.withLock { previous in
            for gone in previous.subtracting(shown.keys) { registry.unregisterGauge(deferredByDestination(gone)) }
            for (destination, count) in shown { deferredByDestination(destination).set(Double(count)) }
            previous = Set(shown.keys)
        }
    }

    private let published = Mutex<Set<String>>([])

    /// `relay_<metric>_<unit>`.
    private func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "relay", metricName: metric, unitName: unit, helpText: help)
    }

    // Listener
    public var sessionsActive: Gauge {
        registry.makeGauge(descriptor: name("sessions", "active", "Open SMTP sessions"))
    }
    public var messagesAccepted: Counter {
        registry.makeCounter(descriptor: name("messages_accepted", "total", "Messages committed to the spool (answered 250)"))
    }
    /// - Parameter reason: the enhanced status code of the refusal (e.g. `5.3.4`).
    public func messagesRejected(reason: String) -> Counter {
        registry.makeCounter(
            descriptor: name("messages_rejected", "total", "Messages refused after their text, by enhanced status code"),
            labels: [("reason", reason)])
    }
    public var spoolCommitSeconds: DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: name("spool_commit", "seconds", "Duration of one group commit (fsync included)"),
            buckets: [.microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(25), .milliseconds(100), .seconds(1)])
    }

    // Worker
    public func queueMessages(state: String) -> Gauge {
        registry.makeGauge(descriptor: name("queue", "messages", "Messages in the queue by state"), labels: [("state", state)])
    }
    public func deliveryAttempts(result: String) -> Counter {
        registry.makeCounter(
            descriptor: name("delivery_attempts", "total", "Delivery attempts per recipient by result"),
            labels: [("result", result)])
    }
    public var deliverySeconds: DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: name("delivery", "seconds", "Time from arrival to delivery"),
            buckets: [.milliseconds(100), .seconds(1), .seconds(10), .seconds(60), .seconds(600), .seconds(3600), .seconds(86400)])
    }
    /// 1 once `spool.sqlite` was deleted or replaced under the running process (it then
    /// refuses mail, or delivers only what its open file holds, until restarted).
    public var spoolReplaced: Gauge {
        registry.makeGauge(descriptor: name("spool", "replaced", "1 when the spool database was deleted or replaced under the running process"))
    }
    /// Outcomes and give-backs the worker could not write to the spool; deliveries stop while
    /// it is above 0 (issue 13, hole 3).
    public var unrecordedOutcomes: Gauge {
        registry.makeGauge(descriptor: name("unrecorded", "outcomes", "Delivery outcomes the spool refused, kept in memory and retried; deliveries stop meanwhile"))
    }
    public var oldestMessageSeconds: Gauge {
        registry.makeGauge(descriptor: name("queue_oldest_message", "seconds", "Age of the oldest message in the queue"))
    }
    public func deferredByDestination(_ destination: String) -> Gauge {
        registry.makeGauge(
            descriptor: name("queue_deferred", "recipients", "Deferred recipients by destination domain"),
            labels: [("destination", destination)])
    }

    /// Prometheus text format.
    public func text() -> [UInt8] {
        registry.emitToBuffer()
    }
}
