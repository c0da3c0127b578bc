import NIOConcurrencyHelpers
import NIOCore

/// Wakes the scheduler: when a delivery ends, new mail is announced, or a timer fires.
/// Signals that arrive while nobody waits are remembered, so none is lost.
final class WakeSignal: Sendable {
    private let state = NIOLockedValueBox<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    func signal() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal, or after `timeout`.
    func wait(timeout: TimeAmount, on loop: any EventLoop) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLockedValue { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.waiter = continuation
                return false
            }
            if now {
                continuation.resume()
            } else {
                // A late timer only leaves a pending signal behind: one extra scheduling pass.
                loop.scheduleTask(in: timeout) { self.signal() }
            }
        }
    }
}
