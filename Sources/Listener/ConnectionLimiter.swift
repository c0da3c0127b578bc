import Synchronization

/// Counts open sessions globally and per client address (`max_connections`,
/// `max_connections_per_ip`), across all event loops of the listener.
final class ConnectionLimiter: Sendable {
    enum Verdict {
        case admitted
        case tooManyConnections
        case tooManyFromAddress
    }

    private let counts = Mutex<(total: Int, perAddress: [String: Int])>((0, [:]))
    private let maximumTotal: Int
    private let maximumPerAddress: Int

    init(maximumTotal: Int, maximumPerAddress: Int) {
        self.maximumTotal = maximumTotal
        self.maximumPerAddress = maximumPerAddress
    }

    /// Admits a connection and counts it, or refuses it without counting.
    func admit(_ address: String) -> Verdict {
        counts.withLock { counts in
            guard counts.total < maximumTotal else { return .tooManyConnections }
            let current = counts.perAddress[address, default: 0]
            guard current < maximumPerAddress else { return .tooManyFromAddress }
            counts.total += 1
            counts.perAddress[address] = current + 1
            return .admitted
        }
    }

    /// Forgets an admitted connection.
    func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let current = counts.perAddress[address, default: 1] - 1
            counts.perAddress[address] = current > 0 ? current : nil
        }
    }

    var total: Int { counts.withLock { $0.total } }

    /// Four fifths of `max_connections` are taken: session timeouts are cut then (Postfix's
    /// stress mode), so that clients holding slots idle, or dripping bytes, give them up soon.
    var underStress: Bool { counts.withLock { $0.total * 5 >= maximumTotal * 4 } }

    private let stressReported = Mutex(false)

    /// Whether stress began since the last call (it ends below three fifths), so that it is
    /// logged once per episode.
    func stressBegan() -> Bool {
        let (total, stressed) = counts.withLock { ($0.total, $0.total * 5 >= maximumTotal * 4) }
        return stressReported.withLock { reported in
            if stressed && !reported {
                reported = true
                return true
            }
            if reported && total * 5 < maximumTotal * 3 { reported = false }
            return false
        }
    }
}
