@testable import RelayDNS
import Testing

private typealias W = DNSWire

private func message(_ bytes: [UInt8]) throws -> DNSMessage { try DNSMessage(parsing: bytes) }

private let mxKey = DNSCache.Key(name: "example.com", type: .mx)
private let start = 1_764_000_000.0

@Suite struct DNSCacheTests {
    // MARK: TTLs

    @Test func aPositiveAnswerLivesForItsSmallestTTL() throws {
        let answer = try message(
            W(question: ("example.com", 15), answers: [
                W.mx(ttl: 300, 10, "mx1.example.com"), W.mx(ttl: 60, 20, "mx2.example.com"), W.mx(ttl: 120, 30, "mx3.example.com"),
            ]).bytes)
        #expect(DNSCache.ttl(of: answer) == 60)
    }

    @Test func theAuthoritySectionDoesNotShortenAPositiveAnswer() throws {
        let answer = try message(
            W(question: ("example.com", 15), answers: [W.mx(ttl: 600, 10, "mx1.example.com")], authority: [W.soa(ttl: 5, minimum: 5)])
                .bytes)
        #expect(DNSCache.ttl(of: answer) == 600)
    }

    @Test(arguments: [
        (3 as UInt16, 900 as UInt32, 300 as UInt32, 300 as UInt32),  // NXDOMAIN: the SOA minimum
        (3, 60, 300, 60),  // NXDOMAIN: the SOA's own TTL when smaller
        (0, 900, 300, 300),  // NODATA
        (0, 120, 3600, 120),
        (3, 0, 300, 0),
    ])
    func aNegativeAnswerLivesForTheSmallerOfTheSOATTLAndMinimum(
        responseCode: UInt16, soaTTL: UInt32, minimum: UInt32, expected: UInt32
    ) throws {
        let answer = try message(W.negative("nosuch.example.com", type: 15, responseCode: responseCode, soaTTL: soaTTL, minimum: minimum))
        #expect(DNSCache.ttl(of: answer) == expected)
    }

    @Test func aNegativeAnswerWithoutAnSOAIsNotCached() throws {
        #expect(DNSCache.ttl(of: try message(W(question: ("nosuch.example.com", 15), responseCode: 3).bytes)) == nil)
        #expect(DNSCache.ttl(of: try message(W(question: ("example.com", 15)).bytes)) == nil)
    }

    @Test(arguments: [1 as UInt16, 2, 4, 5, 9])
    func failuresAreNotCached(responseCode: UInt16) throws {
        // Even when the failure carries records.
        let answer = try message(
            W(question: ("example.com", 15), responseCode: responseCode, answers: [W.mx(ttl: 300, 10, "mx.example.com")],
              authority: [W.soa(ttl: 300, minimum: 300)]).bytes)
        #expect(DNSCache.ttl(of: answer) == nil)
        let cache = DNSCache()
        cache.store(mxKey, answer, now: start)
        #expect(cache.lookup(mxKey, now: start) == nil)
    }

    @Test(arguments: [86_400 as UInt32, 86_401, 604_800, UInt32.max])
    func ttlsAreCappedAtADay(ttl: UInt32) throws {
        #expect(DNSCache.maximumTTL == 86_400)
        let positive = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: ttl, 10, "mx.example.com")]).bytes)
        #expect(DNSCache.ttl(of: positive) == 86_400)
        let negative = try message(W.negative("nosuch.example.com", type: 15, responseCode: 3, soaTTL: ttl, minimum: ttl))
        #expect(DNSCache.ttl(of: negative) == 86_400)
    }

    // MARK: Store and lookup

    @Test func anAnswerIsReturnedUntilItExpires() throws {
        let answer = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 60, 10, "mx.example.com")]).bytes)
        let cache = DNSCache()
        #expect(cache.lookup(mxKey, now: start) == nil)
        cache.store(mxKey, answer, now: start)
        #expect(cache.lookup(mxKey, now: start) == answer)
        #expect(cache.lookup(mxKey, now: start + 59.999) == answer)
        #expect(cache.lookup(mxKey, now: start + 60) == nil)
        #expect(cache.lookup(mxKey, now: start + 3600) == nil)
    }

    @Test func aNegativeAnswerIsReturnedForItsNegativeTTL() throws {
        let answer = try message(W.negative("nosuch.example.com", type: 15, responseCode: 3, soaTTL: 900, minimum: 30))
        let cache = DNSCache()
        let key = DNSCache.Key(name: "nosuch.example.com", type: .mx)
        cache.store(key, answer, now: start)
        #expect(cache.lookup(key, now: start + 29) == answer)
        #expect(cache.lookup(key, now: start + 30) == nil)
    }

    @Test func aCappedAnswerExpiresAfterADay() throws {
        let answer = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 1_000_000, 10, "mx.example.com")]).bytes)
        let cache = DNSCache()
        cache.store(mxKey, answer, now: start)
        #expect(cache.lookup(mxKey, now: start + 86_399) == answer)
        #expect(cache.lookup(mxKey, now: start + 86_400) == nil)
    }

    @Test func aZeroTTLIsNotStored() throws {
        let answer = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 0, 10, "mx.example.com")]).bytes)
        let cache = DNSCache()
        cache.store(mxKey, answer, now: start)
        #expect(cache.lookup(mxKey, now: start) == nil)
    }

    @Test func entriesAreKeptPerNameAndType() throws {
        let mx = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 300, 10, "mx.example.com")]).bytes)
        let a = try message(W(question: ("example.com", 1), answers: [W.a(ttl: 300, [192, 0, 2, 1])]).bytes)
        let cache = DNSCache()
        let aKey = DNSCache.Key(name: "example.com", type: .a)
        cache.store(mxKey, mx, now: start)
        cache.store(aKey, a, now: start)
        #expect(cache.lookup(mxKey, now: start) == mx)
        #expect(cache.lookup(aKey, now: start) == a)
        #expect(cache.lookup(DNSCache.Key(name: "example.com", type: .aaaa), now: start) == nil)
        #expect(cache.lookup(DNSCache.Key(name: "example.net", type: .mx), now: start) == nil)
    }

    @Test func aNewerAnswerReplacesTheOlder() throws {
        let old = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 3600, 10, "old.example.com")]).bytes)
        let new = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 60, 10, "new.example.com")]).bytes)
        let cache = DNSCache()
        cache.store(mxKey, old, now: start)
        cache.store(mxKey, new, now: start + 10)
        #expect(cache.lookup(mxKey, now: start + 11) == new)
        #expect(cache.lookup(mxKey, now: start + 70) == nil)
    }

    @Test func aServerFailureDoesNotEvictAGoodAnswer() throws {
        let good = try message(W(question: ("example.com", 15), answers: [W.mx(ttl: 300, 10, "mx.example.com")]).bytes)
        let failure = try message(W(question: ("example.com", 15), responseCode: 2).bytes)
        let cache = DNSCache()
        cache.store(mxKey, good, now: start)
        cache.store(mxKey, failure, now: start + 1)
        #expect(cache.lookup(mxKey, now: start + 2) == good)
    }

    @Test func theCacheIsEmptiedWhenFull() throws {
        let answer = try message(W(question: ("example.com", 1), answers: [W.a(ttl: 300, [192, 0, 2, 1])]).bytes)
        let cache = DNSCache()
        for index in 0..<DNSCache.maximumEntries {
            cache.store(DNSCache.Key(name: "host\(index).example.com", type: .a), answer, now: start)
        }
        let first = DNSCache.Key(name: "host0.example.com", type: .a)
        #expect(cache.lookup(first, now: start) == answer)
        let extra = DNSCache.Key(name: "one-more.example.com", type: .a)
        cache.store(extra, answer, now: start)
        #expect(cache.lookup(extra, now: start) == answer)
        #expect(cache.lookup(first, now: start) == nil)
    }
}
