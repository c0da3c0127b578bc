import NIOCore
import RelayConfig
import Spool

/// Messages one delivery carries to one destination over one connection, in turn.
struct DeliveryJob: Sendable {
    var messages: [DueMessage]
    var destination: Destination
}

/// Due mail read from the spool, waiting per destination for a free delivery slot.
struct ReadyQueue: Sendable {
    /// Parts waiting per destination, oldest first; taken from the front in place.
    private var parts: [Destination: CircularBuffer<DueMessage>] = [:]
    private var order: [Destination] = []
    /// Parts still waiting, per message.
    private var waitingParts: [Int64: Int] = [:]
    private(set) var count = 0

    /// Messages with a part still waiting here.
    var messageIDs: Set<Int64> { Set(waitingParts.keys) }
    var loadedAt: Double

    init(loadedAt: Double) {
        self.loadedAt = loadedAt
    }

    /// Splits a message by destination (and by `batch` recipients) and queues the parts.
    mutating func add(_ message: DueMessage, routes: [Route], batch: Int) {
        guard waitingParts[message.id] == nil else { return }
        let groups = Dictionary(grouping: message.recipients) { Destination.of($0.address, routes: routes) }
        for (destination, recipients) in groups.sorted(by: { $0.key.description < $1.key.description }) {
            for start in stride(from: 0, to: recipients.count, by: batch) {
                var part = message
                part.recipients = Array(recipients[start..<min(start + batch, recipients.count)])
                if parts[destination] == nil { order.append(destination) }
                parts[destination, default: []].append(part)
                waitingParts[message.id, default: 0] += 1
                count += 1
            }
        }
    }

    /// Jobs of up to `perJob` parts for every destination that `admit` lets through, taking
    /// destinations in turn so that one busy destination cannot starve the others.
    /// - Parameter paused: recipient domains not to deliver to now (`relayctl pause --domain`).
    ///   A route carries many domains, so their recipients are split off the parts they share
    ///   with others and stay here, in order, until the domain is resumed.
    mutating func take(perJob: Int, paused: Set<String> = [], admit: (Destination) -> Bool) -> [DeliveryJob] {
        func deliverable(_ recipient: DueRecipient) -> Bool { !paused.contains(Destination.domain(of: recipient.address)) }
        var jobs: [DeliveryJob] = []
        var progress = true
        while progress {
            progress = false
            for destination in order {
                guard let waiting = parts[destination]?.count, waiting > 0 else { continue }
                if !paused.isEmpty && !parts[destination]!.contains(where: { $0.recipients.contains(where: deliverable) }) {
                    continue
                }
                guard admit(destination) else { continue }
                var taken: [DueMessage] = []
                taken.reserveCapacity(min(perJob, waiting))
                if paused.isEmpty {
                    while taken.count < perJob, let part = parts[destination]!.popFirst() { taken.append(part) }
                } else {
                    var kept = CircularBuffer<DueMessage>()
                    while let part = parts[destination]!.popFirst() {
                        let free = part.recipients.filter(deliverable)
                        guard taken.count < perJob, !free.isEmpty else {
                            kept.append(part)
                            continue
                        }
                        var sent = part
                        sent.recipients = free
                        taken.append(sent)
                        if free.count < part.recipients.count {
                            var rest = part
                            rest.recipients = part.recipients.filter { !deliverable($0) }
                            kept.append(rest)
                            waitingParts[part.id, default: 0] += 1
                            count += 1
                        }
                    }
                    parts[destination] = kept
                }
                count -= taken.count
                for part in taken {
                    let left = waitingParts[part.id, default: 1] - 1
                    waitingParts[part.id] = left > 0 ? left : nil
                }
                jobs.append(DeliveryJob(messages: taken, destination: destination))
                progress = true
            }
        }
        if !jobs.isEmpty {
            order.removeAll { destination in
                guard parts[destination]?.isEmpty ?? true else { return false }
                parts[destination] = nil
                return true
            }
        }
        return jobs
    }
}
