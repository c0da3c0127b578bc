import Foundation
import Synchronization

/// Failed AUTH attempts per client address, across sessions: the session's own limit (3, then
/// 421) does not stop a guesser who reconnects. After `limit` failures from one address with
/// no pause of `window` between them, every attempt from it fails (535) without the password
/// being checked, until `window` has passed since the last failure (issue 13).
final class AuthFailureTracker: Sendable {
    static let limit = 10
    static let window: Double = 600
    static let maximumAddresses = 10_000

    private let failures = Mutex<[String: (count: Int, last: Double)]>([:])
    private let now: @Sendable () -> Double

    init(now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.now = now
    }

    /// Whether `address` may try a password now.
    func mayTry(_ address: String) -> Bool {
        let time = now()
        return failures.withLock { failures in
            guard let entry = failures[address] else { return true }
            return entry.count < Self.limit || time - entry.last >= Self.window
        }
    }

    /// Counts a failure from `address`.
    func failed(_ address: String) {
        let time = now()
        failures.withLock { failures in
            if failures.count >= Self.maximumAddresses { failures.removeAll() }
            let earlier = failures[address].flatMap { time - $0.last < Self.window ? $0.count : nil } ?? 0
            failures[address] = (earlier + 1, time)
        }
    }
}
