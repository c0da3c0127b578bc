/// Builds DNS messages byte by byte (RFC 1035 §4.1), so the parser can be tested without a server.
struct DNSWire {
    static let questionOffset = 12

    var id: UInt16 = 0x2A2A
    /// QR, RD and RA set; the RCODE goes in `responseCode`.
    var flags: UInt16 = 0x8180
    var responseCode: UInt16 = 0
    var question: (name: String, type: UInt16)?
    var answers: [[UInt8]] = []
    var authority: [[UInt8]] = []
    var additional: [[UInt8]] = []

    init(
        question: (name: String, type: UInt16)?, responseCode: UInt16 = 0, flags: UInt16 = 0x8180,
        answers: [[UInt8]] = [], authority: [[UInt8]] = [], additional: [[UInt8]] = []
    ) {
        self.question = question
        self.responseCode = responseCode
        self.flags = flags
        self.answers = answers
        self.authority = authority
        self.additional = additional
    }

    var bytes: [UInt8] {
        var out = Self.u16(id) + Self.u16(flags & 0xFFF0 | responseCode & 0x000F)
        out += Self.u16(question == nil ? 0 : 1) + Self.u16(UInt16(answers.count))
        out += Self.u16(UInt16(authority.count)) + Self.u16(UInt16(additional.count))
        if let question { out += Self.name(question.name) + Self.u16(question.type) + Self.u16(1) }
        for record in answers + authority + additional { out += record }
        return out
    }

    // MARK: Pieces

    static func u16(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(value & 0xFF)] }
    static func u32(_ value: UInt32) -> [UInt8] { u16(UInt16(value >> 16)) + u16(UInt16(value & 0xFFFF)) }

    /// Labels without the terminating root label, to be followed by a pointer.
    static func labels(_ name: String) -> [UInt8] {
        name.split(separator: ".").flatMap { label in [UInt8(label.utf8.count)] + Array(label.utf8) }
    }

    /// An uncompressed name, ending in the root label.
    static func name(_ name: String) -> [UInt8] { labels(name) + [0] }

    /// A compression pointer (RFC 1035 §4.1.4).
    static func pointer(_ offset: Int) -> [UInt8] { [0xC0 | UInt8(offset >> 8), UInt8(offset & 0xFF)] }

    /// The question's name, which always starts at offset 12.
    static let questionName = pointer(questionOffset)

    static func record(_ owner: [UInt8], type: UInt16, ttl: UInt32, rdata: [UInt8], rdlength: Int? = nil) -> [UInt8] {
        owner + u16(type) + u16(1) + u32(ttl) + u16(UInt16(rdlength ?? rdata.count)) + rdata
    }

    static func a(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ address: [UInt8]) -> [UInt8] {
        record(owner, type: 1, ttl: ttl, rdata: address)
    }

    static func aaaa(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ address: [UInt8]) -> [UInt8] {
        record(owner, type: 28, ttl: ttl, rdata: address)
    }

    static func mx(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ preference: UInt16, _ exchange: [UInt8]) -> [UInt8] {
        record(owner, type: 15, ttl: ttl, rdata: u16(preference) + exchange)
    }

    static func mx(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ preference: UInt16, _ exchange: String) -> [UInt8] {
        mx(owner: owner, ttl: ttl, preference, exchange == "." ? [0] : name(exchange))
    }

    static func cname(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ target: [UInt8]) -> [UInt8] {
        record(owner, type: 5, ttl: ttl, rdata: target)
    }

    static func soa(owner: [UInt8] = questionName, ttl: UInt32, minimum: UInt32) -> [UInt8] {
        let rdata = name("ns1.example.com") + name("hostmaster.example.com") + u32(2025112401) + u32(7200) + u32(3600)
            + u32(1_209_600) + u32(minimum)
        return record(owner, type: 6, ttl: ttl, rdata: rdata)
    }

    static func txt(owner: [UInt8] = questionName, ttl: UInt32 = 300, _ strings: [String]) -> [UInt8] {
        record(owner, type: 16, ttl: ttl, rdata: strings.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) })
    }

    static func tlsa(
        owner: [UInt8] = questionName, ttl: UInt32 = 300, usage: UInt8, selector: UInt8, matchingType: UInt8,
        _ data: [UInt8]
    ) -> [UInt8] {
        record(owner, type: 52, ttl: ttl, rdata: [usage, selector, matchingType] + data)
    }

    // MARK: Whole answers

    /// An MX answer for `domain` (NOERROR), exchanges written uncompressed.
    static func mxAnswer(_ domain: String, _ exchanges: [(UInt16, String)], ttl: UInt32 = 300) -> [UInt8] {
        DNSWire(question: (domain, 15), answers: exchanges.map { mx(ttl: ttl, $0.0, $0.1) }).bytes
    }

    /// A negative answer: RCODE with an SOA in the authority section.
    static func negative(_ name: String, type: UInt16, responseCode: UInt16, soaTTL: UInt32 = 3600, minimum: UInt32 = 300)
        -> [UInt8]
    {
        DNSWire(question: (name, type), responseCode: responseCode, authority: [soa(ttl: soaTTL, minimum: minimum)]).bytes
    }
}

/// SplitMix64: a small seeded generator, so random inputs are the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
