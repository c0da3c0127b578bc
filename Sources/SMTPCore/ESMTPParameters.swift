/// RFC 1652 / RFC 6152 body type of MAIL FROM.
public enum BodyType: String, Sendable, Hashable {
    case sevenBit = "7BIT"
    case eightBitMIME = "8BITMIME"
}

/// RFC 3461 §4.3 RET.
public enum DSNReturn: String, Sendable, Hashable {
    case full = "FULL"
    case headers = "HDRS"
}

/// RFC 3461 §4.1 NOTIFY.
public struct DSNNotify: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let never = DSNNotify(rawValue: 1)
    public static let success = DSNNotify(rawValue: 2)
    public static let failure = DSNNotify(rawValue: 4)
    public static let delay = DSNNotify(rawValue: 8)

    /// The value as written in the NOTIFY parameter.
    public var text: String {
        if contains(.never) { return "NEVER" }
        var words: [String] = []
        if contains(.success) { words.append("SUCCESS") }
        if contains(.failure) { words.append("FAILURE") }
        if contains(.delay) { words.append("DELAY") }
        return words.joined(separator: ",")
    }

    /// Parses `NEVER` or a comma list of SUCCESS, FAILURE, DELAY. - Returns: `nil` if invalid.
    public init?(text: Substring) {
        var value = DSNNotify()
        for word in text.split(separator: ",", omittingEmptySubsequences: false) {
            let item: DSNNotify
            switch word.uppercased() {
            case "NEVER": item = .never
            case "SUCCESS": item = .success
            case "FAILURE": item = .failure
            case "DELAY": item = .delay
            default: return nil
            }
            guard !value.contains(item) else { return nil }
            value.insert(item)
        }
        // RFC 3461 §4.1: NEVER must appear alone.
        guard !value.isEmpty, !(value.contains(.never) && value != .never) else { return nil }
        self = value
    }
}

/// The parameters of MAIL FROM that Relay understands.
public struct MailParameters: Sendable, Hashable {
    public var size: Int?
    public var body: BodyType?
    public var smtputf8 = false
    public var ret: DSNReturn?
    public var envelopeID: String?
    /// RFC 4954 §5 AUTH=, decoded from xtext; `<>` is kept as the empty string.
    public var auth: String?
    public init() {}
}

/// The parameters of RCPT TO that Relay understands.
public struct RecipientParameters: Sendable, Hashable {
    public var notify: DSNNotify?
    /// RFC 3461 §4.2 ORCPT as `addr-type;address`, the address decoded from xtext.
    public var originalRecipient: String?
    public init() {}
}

/// Why an ESMTP parameter was refused; `reply` gives the answer to send.
public enum ESMTPParameterError: Error, Sendable, Hashable {
    case unknown(String)
    case duplicate(String)
    case badValue(String)
    case sizeExceeded

    public var reply: SMTPReply {
        switch self {
        case .unknown(let keyword):
            SMTPReply(code: 555, EnhancedStatusCode(5, 5, 4), "Unsupported option: \(keyword)")
        case .duplicate(let keyword):
            SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Error: duplicate parameter \(keyword)")
        case .badValue(let keyword):
            SMTPReply(code: 501, EnhancedStatusCode(5, 5, 4), "Error: bad value of parameter \(keyword)")
        case .sizeExceeded:
            .messageTooBig
        }
    }
}

/// Parses `esmtp-param *(SP esmtp-param)` (RFC 5321 §4.1.2).
public enum ESMTPParameterParser {
    /// Splits parameters into keyword (uppercased) and optional value.
    static func split(_ text: Substring) throws(ESMTPParameterError) -> [(keyword: String, value: Substring?)] {
        var result: [(String, Substring?)] = []
        var seen = Set<String>()
        for item in text.split(separator: " ") {
            let keyword: Substring
            let value: Substring?
            if let equals = item.firstIndex(of: "=") {
                keyword = item[..<equals]
                value = item[item.index(after: equals)...]
            } else {
                keyword = item
                value = nil
            }
            // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
            guard let first = keyword.utf8.first, MailboxParser.isLetDig(first),
                keyword.utf8.allSatisfy({ MailboxParser.isLetDig($0) || $0 == UInt8(ascii: "-") })
            else { throw .badValue(String(keyword)) }
            if let value {
                // esmtp-value = 1*(%d33-60 / %d62-126), extended to UTF-8 by RFC 6531.
                guard !value.isEmpty, value.utf8.allSatisfy({ ($0 >= 33 && $0 != 61 && $0 != 127) }) else {
                    throw .badValue(String(keyword).uppercased())
                }
            }
            let upper = keyword.uppercased()
            guard seen.insert(upper).inserted else { throw .duplicate(upper) }
            result.append((upper, value))
        }
        return result
    }

    /// - Parameter maximumSize: the advertised SIZE; a larger declared size is refused (RFC 1870 §6.1).
    public static func parseMail(_ text: Substring, maximumSize: Int) throws(ESMTPParameterError) -> MailParameters {
        var params = MailParameters()
        for (keyword, value) in try split(text) {
            switch keyword {
            case "SIZE":
                guard let value, value.utf8.count <= 20, value.utf8.allSatisfy({ (48...57).contains($0) }) else {
                    throw .badValue(keyword)
                }
                guard let size = Int(value), size <= maximumSize else { throw .sizeExceeded }
                params.size = size
            case "BODY":
                guard let value, let body = BodyType(rawValue: value.uppercased()) else { throw .badValue(keyword) }
                params.body = body
            case "SMTPUTF8":
                guard value == nil else { throw .badValue(keyword) }
                params.smtputf8 = true
            case "RET":
                guard let value, let ret = DSNReturn(rawValue: value.uppercased()) else { throw .badValue(keyword) }
                params.ret = ret
            case "ENVID":
                guard let value, value.utf8.count <= SMTPLimits.maximumEnvelopeIDLength,
                    let decoded = XText.decode(value)
                else { throw .badValue(keyword) }
                params.envelopeID = decoded
            case "AUTH":
                guard let value, let decoded = XText.decode(value) else { throw .badValue(keyword) }
                params.auth = decoded == "<>" ? "" : decoded
            default:
                throw .unknown(keyword)
            }
        }
        return params
    }

    public static func parseRecipient(_ text: Substring) throws(ESMTPParameterError) -> RecipientParameters {
        var params = RecipientParameters()
        for (keyword, value) in try split(text) {
            switch keyword {
            case "NOTIFY":
                guard let value, let notify = DSNNotify(text: value) else { throw .badValue(keyword) }
                params.notify = notify
            case "ORCPT":
                // ORCPT=addr-type ";" xtext (RFC 3461 §4.2)
                guard let value, value.utf8.count <= SMTPLimits.maximumOriginalRecipientLength,
                    let semicolon = value.firstIndex(of: ";"),
                    MailboxParser.isDomain(value[..<semicolon].utf8, utf8: false),
                    let address = XText.decode(value[value.index(after: semicolon)...]), !address.isEmpty
                else { throw .badValue(keyword) }
                params.originalRecipient = "\(value[..<semicolon]);\(address)"
            default:
                throw .unknown(keyword)
            }
        }
        return params
    }
}
