import Foundation
import Synchronization

/// Makes queue ids: unique, sortable by arrival, `[0-9A-Z]`, 16 characters (SPEC: 12 to 20).
///
/// Layout: 11 base-36 digits of microseconds since the Unix epoch (enough until the year 5000),
/// then 2 digits naming this process and 3 of a per-process counter, so that two ids made in the
/// same microsecond — by one process or by two — still differ. The spool's UNIQUE constraint is
/// the final guard.
public final class QueueIDGenerator: Sendable {
    private static let digits = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
    private let processTag: String
    private let state = Mutex<(lastMicros: UInt64, counter: UInt64)>((0, 0))

    public init() {
        processTag = Self.base36(UInt64(getpid()) &+ UInt64.random(in: 0..<1296), width: 2)
    }

    /// - Parameter now: seconds since the Unix epoch.
    /// - Returns: a new queue id.
    public func next(now: Double = Date().timeIntervalSince1970) -> String {
        let micros = UInt64(max(0, now) * 1_000_000)
        let (stamp, counter) = state.withLock { state -> (UInt64, UInt64) in
            // Never go backwards, even if the clock does, so ids stay sorted within a process.
            state.lastMicros = max(state.lastMicros, micros)
            state.counter &+= 1
            return (state.lastMicros, state.counter)
        }
        return Self.base36(stamp, width: 11) + processTag + Self.base36(counter, width: 3)
    }

    /// Fixed-width base 36, keeping the lowest digits when the value is wider.
    static func base36(_ value: UInt64, width: Int) -> String {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: width)
        var rest = value
        for index in stride(from: width - 1, through: 0, by: -1) {
            bytes[index] = digits[Int(rest % 36)]
            rest /= 36
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
