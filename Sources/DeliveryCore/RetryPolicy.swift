/// When to try a deferred recipient again (SPEC: Delivery behaviour):
/// `min(max_backoff, min_backoff × 2^(n−1))` ±10 % jitter, until `max_queue_lifetime`.
public struct RetryPolicy: Sendable, Hashable {
    public var minimumBackoff: Double
    public var maximumBackoff: Double
    public var maximumLifetime: Double

    /// - Parameters: seconds.
    public init(minimumBackoff: Double, maximumBackoff: Double, maximumLifetime: Double) {
        self.minimumBackoff = minimumBackoff
        self.maximumBackoff = maximumBackoff
        self.maximumLifetime = maximumLifetime
    }

    /// - Parameters:
    ///   - attempts: attempts made so far, including the one that just failed (≥ 1).
    ///   - jitter: a factor in −0.1…0.1 (random in production, fixed in tests).
    /// - Returns: seconds until the next attempt.
    public func delay(afterAttempts attempts: Int, jitter: Double) -> Double {
        let exponent = min(max(attempts, 1) - 1, 60)
        let base = min(maximumBackoff, minimumBackoff * Double(1 << UInt64(min(exponent, 62))))
        return max(0, base * (1 + max(-0.1, min(0.1, jitter))))
    }

    /// A random jitter factor.
    public static func randomJitter() -> Double { Double.random(in: -0.1...0.1) }

    /// True once a message that arrived at `arrival` has been queued too long.
    public func isExpired(arrival: Double, now: Double) -> Bool {
        now - arrival >= maximumLifetime
    }
}
