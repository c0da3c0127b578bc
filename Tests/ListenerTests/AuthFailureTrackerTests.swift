import Synchronization
import Testing

@testable import Listener

@Suite struct AuthFailureTrackerTests {
    final class Clock: Sendable {
        let time = Mutex<Double>(1_000)
        func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
        var now: Double { time.withLock { $0 } }
    }

    @Test func tenFailuresLockTheAddressOutForTheWindow() {
        let clock = Clock()
        let tracker = AuthFailureTracker(now: { clock.now })
        for _ in 1..<AuthFailureTracker.limit { tracker.failed("192.0.2.1") }
        #expect(tracker.mayTry("192.0.2.1"))
        tracker.failed("192.0.2.1")
        #expect(!tracker.mayTry("192.0.2.1"))
        #expect(tracker.mayTry("192.0.2.2"), "other addresses are not affected")
        clock.advance(AuthFailureTracker.window - 1)
        #expect(!tracker.mayTry("192.0.2.1"))
        clock.advance(1)
        #expect(tracker.mayTry("192.0.2.1"))
    }

    @Test func failuresFarApartDoNotAddUp() {
        let clock = Clock()
        let tracker = AuthFailureTracker(now: { clock.now })
        for _ in 1...(AuthFailureTracker.limit * 2) {
            tracker.failed("192.0.2.1")
            clock.advance(AuthFailureTracker.window)
        }
        #expect(tracker.mayTry("192.0.2.1"))
    }
}
