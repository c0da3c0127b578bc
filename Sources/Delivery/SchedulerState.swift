/// Deliveries in flight, and destinations that just failed as a whole.
struct SchedulerState: Sendable {
    private(set) var total = 0
    /// `relayctl pause` with no domain.
    var pausedAll = false
    /// `relayctl pause --domain D`: MX destinations of these domains.
    var pausedDomains = Set<String>()
    private var perDestination: [Destination: Int] = [:]
    private var backoff: [Destination: Double] = [:]

    mutating func admit(_ destination: Destination, now: Double, total limit: Int, perDestination destinationLimit: Int) -> Bool {
        if pausedAll { return false }
        if case .mx(let domain) = destination.kind, pausedDomains.contains(domain) { return false }
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

    /// Forgets destination backoffs (`relayctl queue flush`); with `only`, those of the
    /// destinations it names (`flush --domain`).
    mutating func clearBackoff(only: ((Destination) -> Bool)? = nil) {
        guard let only else { return backoff.removeAll() }
        backoff = backoff.filter { !only($0.key) }
    }
}
