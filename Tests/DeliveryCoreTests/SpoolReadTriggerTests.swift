import DeliveryCore
import Testing

/// Whether a pass at `now` reads the spool.
private func reads(_ trigger: inout SpoolReadTrigger, at now: Double, poll: Double) -> Bool {
    trigger.consume(now: now, poll: poll)
}

@Suite struct SpoolReadTriggerTests {
    @Test func theFirstPassReads() {
        var trigger = SpoolReadTrigger()
        #expect(reads(&trigger, at: 100, poll: 0.5))
        #expect(!reads(&trigger, at: 100.1, poll: 0.5), "nothing changed and the poll is not due")
    }

    @Test func aChangeMakesTheNextPassReadOnce() {
        var trigger = SpoolReadTrigger()
        _ = reads(&trigger, at: 100, poll: 0.5)
        trigger.changed = true
        #expect(reads(&trigger, at: 100.1, poll: 0.5))
        #expect(!reads(&trigger, at: 100.2, poll: 0.5))
    }

    @Test func thePollReadsWhateverHappened() {
        var trigger = SpoolReadTrigger()
        _ = reads(&trigger, at: 100, poll: 0.5)
        #expect(!reads(&trigger, at: 100.49, poll: 0.5))
        #expect(reads(&trigger, at: 100.5, poll: 0.5))
    }

    @Test func aRetryFallingDueIsRead() {
        var trigger = SpoolReadTrigger()
        _ = reads(&trigger, at: 100, poll: 5)
        trigger.dueAt = 101
        #expect(!reads(&trigger, at: 100.9, poll: 5))
        #expect(reads(&trigger, at: 101, poll: 5))
        #expect(trigger.dueAt == nil)
        #expect(!reads(&trigger, at: 101.1, poll: 5))
    }

    @Test func aFullReadLeavesMoreToReadAtOnce() {
        var trigger = SpoolReadTrigger()
        _ = reads(&trigger, at: 100, poll: 0.5)
        trigger.read(found: 800, limit: 800)
        #expect(reads(&trigger, at: 100.01, poll: 0.5), "a backlog larger than one read must not wait for the poll")
        trigger.read(found: 12, limit: 800)
        #expect(!reads(&trigger, at: 100.02, poll: 0.5))
    }
}
