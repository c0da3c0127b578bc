import Prometheus

/// The metrics SPEC names, in one Prometheus registry per role process.
public final class RelayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

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
