import DeliveryCore
import Testing

@Suite struct RetryPolicyTests {
    /// 1 minute doubling up to 1 hour, 5 days in the queue.
    let policy = RetryPolicy(minimumBackoff: 60, maximumBackoff: 3600, maximumLifetime: 5 * 86_400)

    /// `min(max_backoff, min_backoff × 2^(n−1))` before jitter, for n = 1…10.
    static let baseDelays: [(attempts: Int, seconds: Double)] = [
        (1, 60), (2, 120), (3, 240), (4, 480), (5, 960), (6, 1920),
        (7, 3600),  // 3840 capped
        (8, 3600), (9, 3600), (10, 3600),
    ]

    static let table: [(attempts: Int, jitter: Double, expected: Double)] = baseDelays.flatMap { row in
        [(row.attempts, -0.1, row.seconds * 0.9), (row.attempts, 0, row.seconds), (row.attempts, 0.1, row.seconds * 1.1)]
    }

    @Test(arguments: table)
    func delayDoublesFromTheMinimumUpToTheMaximumWithJitter(attempts: Int, jitter: Double, expected: Double) {
        let delay = policy.delay(afterAttempts: attempts, jitter: jitter)
        #expect(abs(delay - expected) < 1e-9, "attempts \(attempts) jitter \(jitter): \(delay) ≠ \(expected)")
    }

    /// Out-of-range jitter is clamped to ±10 %.
    @Test(arguments: [
        (0.5, 0.1), (1, 0.1), (100, 0.1), (Double.infinity, 0.1), (Double.greatestFiniteMagnitude, 0.1),
        (-0.5, -0.1), (-1, -0.1), (-100, -0.1), (-Double.infinity, -0.1), (-Double.greatestFiniteMagnitude, -0.1),
        (0.05, 0.05), (-0.05, -0.05),
    ])
    func jitterIsClampedToTenPercent(jitter: Double, effective: Double) {
        for attempts in 1...10 {
            let expected = policy.delay(afterAttempts: attempts, jitter: 0) * (1 + effective)
            let delay = policy.delay(afterAttempts: attempts, jitter: jitter)
            #expect(abs(delay - expected) < 1e-9, "attempts \(attempts) jitter \(jitter): \(delay) ≠ \(expected)")
        }
    }

    @Test(arguments: [11, 50, 62, 63, 64, 65, 100, 1_000, 1_000_000, Int(Int32.max), Int.max - 1, Int.max])
    func hugeAttemptCountsGiveTheMaximumWithoutOverflow(attempts: Int) {
        #expect(policy.delay(afterAttempts: attempts, jitter: 0) == 3600)
        #expect(abs(policy.delay(afterAttempts: attempts, jitter: 0.1) - 3960) < 1e-9)
        #expect(abs(policy.delay(afterAttempts: attempts, jitter: -0.1) - 3240) < 1e-9)
    }

    /// With no effective maximum the exponent itself must not overflow.
    @Test(arguments: [64, 65, 1_000, Int.max])
    func hugeAttemptCountsStayFiniteWithAnUnboundedMaximum(attempts: Int) {
        let unbounded = RetryPolicy(
            minimumBackoff: 1, maximumBackoff: .greatestFiniteMagnitude, maximumLifetime: .greatestFiniteMagnitude)
        let delay = unbounded.delay(afterAttempts: attempts, jitter: 0.1)
        #expect(delay.isFinite)
        #expect(delay > 0)
        #expect(delay >= unbounded.delay(afterAttempts: 63, jitter: 0.1))
    }

    @Test(arguments: [0, -1, -100, Int.min])
    func fewerThanOneAttemptCountsAsOne(attempts: Int) {
        #expect(policy.delay(afterAttempts: attempts, jitter: 0) == 60)
    }

    @Test func theDelayNeverDecreasesWithMoreAttempts() {
        var previous = 0.0
        for attempts in 1...80 {
            let delay = policy.delay(afterAttempts: attempts, jitter: 0)
            #expect(delay >= previous)
            previous = delay
        }
    }

    @Test func aMinimumAboveTheMaximumIsCappedByTheMaximum() {
        let odd = RetryPolicy(minimumBackoff: 600, maximumBackoff: 300, maximumLifetime: 3600)
        #expect(odd.delay(afterAttempts: 1, jitter: 0) == 300)
    }

    @Test func randomJitterStaysWithinTenPercent() {
        for _ in 0..<1_000 {
            let jitter = RetryPolicy.randomJitter()
            #expect((-0.1...0.1).contains(jitter))
        }
    }

    static let arrival = 1_764_000_000.0

    static let lifetime = 5 * 86_400.0
    static let ages: [(Double, Bool)] = [
        (0, false), (1, false), (lifetime - 1, false), (lifetime - 0.001, false),
        (lifetime, true), (lifetime + 0.001, true), (lifetime + 86_400, true), (-3600, false),
    ]

    @Test(arguments: ages)
    func expiresOnceTheLifetimeHasPassedSinceArrival(age: Double, expired: Bool) {
        #expect(policy.isExpired(arrival: Self.arrival, now: Self.arrival + age) == expired)
    }

    @Test func aZeroLifetimeExpiresAtOnce() {
        let immediate = RetryPolicy(minimumBackoff: 60, maximumBackoff: 3600, maximumLifetime: 0)
        #expect(immediate.isExpired(arrival: Self.arrival, now: Self.arrival))
        #expect(!immediate.isExpired(arrival: Self.arrival, now: Self.arrival - 1))
    }
}
