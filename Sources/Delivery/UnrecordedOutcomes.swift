import Foundation
import NIOConcurrencyHelpers
import Spool

/// What the worker learned but could not write to the spool (SQLITE_FULL, an I/O error): the
/// outcomes of finished attempts and the give-backs of claimed recipients. Until they are
/// written, those recipients stay `active` in the spool, so the worker keeps them here, retries
/// them in order before anything else, and starts no delivery meanwhile: mail delivered but
/// not recorded would be delivered again after a restart, and more of it would only widen that
/// window (issue 13, hole 3). Only a restart while this is not empty loses them, and then the
/// recipients are delivered again (a duplicate, never a loss).
final class UnrecordedOutcomes: Sendable {
    enum Write: Sendable {
        case outcomes(OutcomeRecord)
        case release([Int64], nextAttempt: Double)
    }

    private struct State {
        var pending: [Write] = []
        var lastError = ""
    }

    private let state = NIOLockedValueBox(State())

    var count: Int { state.withLockedValue { $0.pending.count } }

    /// The storage error that keeps them, while any are kept.
    var lastError: String? { state.withLockedValue { $0.pending.isEmpty ? nil : $0.lastError } }

    /// Keeps a write that failed with `error`. - Returns: whether it is the first one kept (the
    /// moment deliveries stop).
    func keep(_ write: Write, error: any Error) -> Bool {
        state.withLockedValue { state in
            state.pending.append(write)
            state.lastError = "\(error)"
            return state.pending.count == 1
        }
    }

    /// Writes what is kept, in order, each in a transaction of its own, stopping at the first
    /// failure that may pass (full disk, I/O error). A write the data itself refuses every time
    /// (a constraint) is dropped, so that it cannot stop deliveries for good; the writes are
    /// safe to repeat (`DeliveryStore.write`), so this only happens to a message an operator
    /// deleted meanwhile, whose recipients then need nothing.
    /// - Returns: how many were written, how many dropped with their errors, and how many are
    ///   still kept.
    func retry(_ store: DeliveryStore) -> (written: Int, dropped: [String], left: Int) {
        state.withLockedValue { state in
            var written = 0
            var dropped: [String] = []
            while let first = state.pending.first {
                do {
                    switch first {
                    case .outcomes(let record): try store.recordNow(record)
                    case .release(let ids, let nextAttempt): try store.release(ids, nextAttempt: nextAttempt)
                    }
                    written += 1
                } catch where DeliveryStore.isPermanent(error) {
                    dropped.append("\(error)")
                } catch {
                    state.lastError = "\(error)"
                    break
                }
                state.pending.removeFirst()
            }
            return (written, dropped, state.pending.count)
        }
    }

    /// Whether any write is kept: deliveries wait while one is.
    var isEmpty: Bool { count == 0 }
}
