import Synchronization

/// Session ids for log lines: a per-process random prefix and a counter, base 36.
final class SessionIDGenerator: Sendable {
    private let prefix: String
    private let counter = Atomic<UInt64>(0)

    init() {
        prefix = String(UInt64.random(in: 36 * 36 * 36..<36 * 36 * 36 * 36), radix: 36, uppercase: true)
    }

    func next() -> String {
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + String(value, radix: 36, uppercase: true)
    }
}
