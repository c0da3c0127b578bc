import DeliveryCore
import Foundation
import Logging
import RelayMetrics
import Spool

/// Turns attempt results into recipient states, log lines and DSNs, and stores them in one
/// transaction.
struct OutcomeRecorder: Sendable {
    /// Stores the outcomes of one attempt through the worker's group commit.
    /// - Returns: when to try the destination again if nothing could be reached, else nil.
    func record(_ message: DueMessage, results: [Int64: AttemptResult], body: [Data]) async -> Double? {
        let (record, unreachableUntil) = prepare(message, results: results, body: body)
        do {
            try await store.record(record)
        } catch {
            keep(.outcomes(record), error: error, queueID: message.queueID)
        }
        return unreachableUntil
    }

    /// Stores the outcomes at once, in a transaction of their own (an operator's bounce).
    func recordNow(_ message: DueMessage, results: [Int64: AttemptResult], body: [Data]) {
        let (record, _) = prepare(message, results: results, body: body)
        do {
            try store.recordNow(record)
        } catch {
            keep(.outcomes(record), error: error, queueID: message.queueID)
        }
    }

    /// Gives claimed recipients back to the queue, or keeps the give-back for later.
    func release(_ recipientIDs: [Int64], nextAttempt: Double) {
        guard !recipientIDs.isEmpty else { return }
        do {
            try store.release(recipientIDs, nextAttempt: nextAttempt)
        } catch {
            keep(.release(recipientIDs, nextAttempt: nextAttempt), error: error, queueID: nil)
        }
    }

    /// A write the spool refused: kept and retried (see ``UnrecordedOutcomes``).
    private func keep(_ write: UnrecordedOutcomes.Write, error: any Error, queueID: String?) {
        let first = unrecorded.keep(write, error: error)
        metrics?.unrecordedOutcomes.set(Double(unrecorded.count))
        let metadata: Logger.Metadata = ["id": "\(queueID ?? "-")", "reason": "\(error)"]
        if first {
            logger.critical("cannot record delivery outcomes in the spool; deliveries stop until they are recorded", metadata: metadata)
        } else {
            logger.error("cannot record delivery outcomes", metadata: metadata)
        }
    }

    let store: DeliveryStore
    let unrecorded: UnrecordedOutcomes
    let policy: RetryPolicy
    /// `[delivery] delay_warning` in seconds; nil disables warnings.
    let delayWarning: Double?
    let logger: Logger
    let bounces: BounceFactory
    let metrics: RelayMetrics?

    /// Logs each outcome and builds what to store: recipient states and the DSNs they cause.
    /// - Returns: the record, and when to try the destination again if nothing could be reached.
    private func prepare(_ message: DueMessage, results: [Int64: AttemptResult], body: [Data])
        -> (OutcomeRecord, unreachableUntil: Double?)
    {
        let now = Date().timeIntervalSince1970
        var outcomes: [RecipientOutcome] = []
        var failed: [DeliveryStatusNotification.Recipient] = []
        var delayed: [DeliveryStatusNotification.Recipient] = []
        var notify: [String: String?] = [:]
        var unreachableUntil: Double?
        for recipient in message.recipients {
            guard let result = results[recipient.id] else { continue }
            // SPEC logs: one line per attempt outcome. The metadata is built only when the line
            // is written (Logger takes it as an autoclosure).
            func log(_ event: Logger.Message, dsn: String) {
                logger.info(event, metadata: [
                    "id": "\(message.queueID)", "to": "<\(recipient.address)>", "relay": "\(result.relay)",
                    "delay": "\(String(format: "%.1f", now - message.arrivalTime))", "dsn": "\(dsn)", "reply": "\(result.reply)",
                ])
            }
            let attempts = recipient.attempts + 1
            switch result.outcome {
            case .delivered(let status):
                log("delivered", dsn: status)
                metrics?.deliveryAttempts(result: "delivered").increment()
                metrics?.deliverySeconds.record(.milliseconds(Int64((now - message.arrivalTime) * 1000)))
                outcomes.append(RecipientOutcome(
                    recipientID: recipient.id, state: .delivered, nextAttempt: nil, reply: result.reply, dsn: status,
                    relay: result.relay))
            case .bounced(let status):
                log("bounced", dsn: status)
                metrics?.deliveryAttempts(result: "bounced").increment()
                outcomes.append(RecipientOutcome(
                    recipientID: recipient.id, state: .bounced, nextAttempt: nil, reply: result.reply, dsn: status,
                    relay: result.relay))
                failed.append(dsnRecipient(recipient, status: status, result: result, now: now))
                notify[recipient.address] = recipient.notify
            case .deferred(let status):
                if policy.isExpired(arrival: message.arrivalTime, now: now) {
                    // SPEC: after max_queue_lifetime, bounced with 5.4.7.
                    log("expired", dsn: "5.4.7")
                    metrics?.deliveryAttempts(result: "expired").increment()
                    outcomes.append(RecipientOutcome(
                        recipientID: recipient.id, state: .bounced, nextAttempt: nil, reply: result.reply, dsn: "5.4.7",
                        relay: result.relay))
                    failed.append(dsnRecipient(recipient, status: "5.4.7", result: result, now: now))
                    notify[recipient.address] = recipient.notify
                } else {
                    let next = now + policy.delay(afterAttempts: attempts, jitter: RetryPolicy.randomJitter())
                    log("deferred", dsn: status)
                    metrics?.deliveryAttempts(result: "deferred").increment()
                    let warn = !recipient.warned && delayWarning.map { now - message.arrivalTime >= $0 } == true
                    if warn {
                        var warning = dsnRecipient(recipient, status: status, result: result, now: now)
                        warning.action = "delayed"
                        delayed.append(warning)
                        notify[recipient.address] = recipient.notify
                    }
                    outcomes.append(RecipientOutcome(
                        recipientID: recipient.id, state: .deferred, nextAttempt: next, reply: result.reply, dsn: status,
                        relay: result.relay, warned: warn))
                    if result.relay == "none" || status == "4.4.1" { unreachableUntil = max(unreachableUntil ?? 0, next) }
                }
            }
        }
        var generated: [IncomingMessage] = []
        let text = failed.isEmpty && delayed.isEmpty ? [] : body.reduce(into: [UInt8]()) { $0 += $1 }
        if !delayed.isEmpty,
            let warning = bounces.delayWarning(for: message, recipients: delayed, notify: notify, body: text, now: now)
        {
            logger.info("delay warning queued", metadata: ["id": "\(message.queueID)", "warning": "\(warning.queueID)"])
            generated.append(warning)
        }
        if !failed.isEmpty {
            if let bounce = bounces.bounce(for: message, recipients: failed, notify: notify, body: text, now: now) {
                logger.info("bounce queued", metadata: ["id": "\(message.queueID)", "bounce": "\(bounce.queueID)"])
                generated.append(bounce)
            } else if let notice = bounces.notice(for: message, recipients: failed, body: text, now: now) {
                // A bounce that cannot be delivered is dropped, with a notice to the postmaster.
                logger.warning("bounce undeliverable", metadata: ["id": "\(message.queueID)", "notice": "\(notice.queueID)"])
                generated.append(notice)
            } else if message.kind != "message" {
                logger.warning("notice undeliverable, dropped", metadata: ["id": "\(message.queueID)"])
            }
        }
        return (OutcomeRecord(outcomes: outcomes, messageID: message.id, bounces: generated, now: now), unreachableUntil)
    }

    private func dsnRecipient(_ recipient: DueRecipient, status: String, result: AttemptResult, now: Double)
        -> DeliveryStatusNotification.Recipient
    {
        let remote = result.relay == "none" ? nil : result.relay.split(separator: "[").first.map(String.init)
        return DeliveryStatusNotification.Recipient(
            address: recipient.address, originalRecipient: recipient.originalRecipient, action: "failed", status: status,
            diagnostic: result.reply, remoteMTA: remote, lastAttempt: now)
    }
}
