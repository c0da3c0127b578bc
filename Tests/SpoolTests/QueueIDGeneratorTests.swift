import Testing

@testable import Spool

@Suite struct QueueIDGeneratorTests {
    @Test func idsAreUppercaseBase36OfSixteenCharacters() {
        let id = QueueIDGenerator().next(now: 1_764_000_000.123456)
        #expect(id.count == 16)
        #expect(id.allSatisfy { ("0"..."9").contains($0) || ("A"..."Z").contains($0) })
    }

    @Test func idsSortByArrivalAndNeverRepeat() {
        let generator = QueueIDGenerator()
        var ids: [String] = []
        for step in 0..<2000 {
            // Many ids within one microsecond, and time moving on.
            ids.append(generator.next(now: 1_764_000_000 + Double(step / 100) * 0.000_001))
        }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }

    @Test func aClockGoingBackwardsDoesNotUnsortIDs() {
        let generator = QueueIDGenerator()
        let first = generator.next(now: 1_764_000_010)
        let second = generator.next(now: 1_764_000_000)
        #expect(first < second)
    }

    @Test func base36IsFixedWidth() {
        #expect(QueueIDGenerator.base36(0, width: 3) == "000")
        #expect(QueueIDGenerator.base36(35, width: 2) == "0Z")
        #expect(QueueIDGenerator.base36(36 * 36, width: 2) == "00")  // wraps, keeping the low digits
    }
}
