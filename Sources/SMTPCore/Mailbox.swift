/// A mailbox of RFC 5321 §4.1.2 (`local-part@domain`), or the special `<Postmaster>`.
///
/// The local part is kept as the client wrote it (a quoted string keeps its quotes), because
/// RFC 5321 §2.4 says the local part is interpreted only by the destination host.
public struct Mailbox: Sendable, Hashable, CustomStringConvertible {
    public var localPart: String
    /// A domain name, or an address literal with its brackets (`[192.0.2.1]`, `[IPv6:…]`);
    /// empty only for `<Postmaster>` without a domain.
    public var domain: String

    public init(localPart: String, domain: String) {
        self.localPart = localPart
        self.domain = domain
    }

    /// RFC 5321 §4.5.1: `<Postmaster>` with no domain must be accepted.
    public var isBarePostmaster: Bool { domain.isEmpty }

    /// True when the mailbox holds anything but ASCII, which needs SMTPUTF8 (RFC 6531).
    public var needsSMTPUTF8: Bool {
        !localPart.utf8.allSatisfy { $0 < 0x80 } || !domain.utf8.allSatisfy { $0 < 0x80 }
    }

    /// The local part routes on to another host (`user%remote`, `remote!user`, a quoted
    /// `"user@remote"`): mail to it is not for the destination alone. Postfix refuses such
    /// addresses from untrusted clients (`allow_untrusted_routing = no`): a backup MX that
    /// forwarded them would be an open relay for whoever reads the address that way.
    public var hasSenderSpecifiedRouting: Bool {
        localPart.contains("%") || localPart.contains("!") || localPart.contains("@")
    }

    public var description: String { domain.isEmpty ? localPart : "\(localPart)@\(domain)" }
}

/// Why a path could not be parsed.
public enum MailboxParseError: Error, Sendable, Hashable {
    case syntax
    case tooLong
    case needsSMTPUTF8
}

/// Parses RFC 5321 §4.1.2 paths: `Reverse-path`, `Forward-path`, `Mailbox`.
public enum MailboxParser {
    /// Parses `<…>` as used by MAIL and RCPT. Source routes (`<@a,@b:user@c>`) are accepted and
    /// ignored (RFC 5321 §4.1.1.3, appendix C).
    /// - Parameters:
    ///   - path: the bytes from `<` to `>` inclusive.
    ///   - allowEmpty: accept `<>` (reverse-path only); the result is then `nil`.
    ///   - allowBarePostmaster: accept `<Postmaster>` (forward-path only).
    ///   - utf8: the transaction declared SMTPUTF8, so non-ASCII is allowed (RFC 6531 §3.3).
    /// - Returns: the mailbox, or `nil` for the null path.
    /// - Throws: `MailboxParseError`.
    public static func parsePath(
        _ path: Substring.UTF8View, allowEmpty: Bool, allowBarePostmaster: Bool, utf8: Bool
    ) throws(MailboxParseError) -> Mailbox? {
        guard path.count <= SMTPLimits.maximumPathLength else { throw .tooLong }
        guard path.first == UInt8(ascii: "<"), path.last == UInt8(ascii: ">"), path.count >= 2 else {
            throw .syntax
        }
        var inner = path.dropFirst().dropLast()
        if inner.isEmpty {
            if allowEmpty { return nil }
            throw .syntax
        }
        // A-d-l ":" — drop the source route.
        if inner.first == UInt8(ascii: "@") {
            guard let colon = inner.firstIndex(of: UInt8(ascii: ":")) else { throw .syntax }
            let route = inner[..<colon]
            for hop in route.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
                guard hop.first == UInt8(ascii: "@"), isDomain(hop.dropFirst(), utf8: utf8) else { throw .syntax }
            }
            inner = inner[inner.index(after: colon)...]
        }
        if allowBarePostmaster, String(Substring(inner)).lowercased() == "postmaster" {
            return Mailbox(localPart: String(Substring(inner)), domain: "")
        }
        return try parseMailbox(inner, utf8: utf8)
    }

    /// Parses `Local-part "@" ( Domain / address-literal )`.
    public static func parseMailbox(_ text: Substring.UTF8View, utf8: Bool) throws(MailboxParseError) -> Mailbox {
        let bytes = Array(text)
        if !utf8, bytes.contains(where: { $0 >= 0x80 }) {
            throw bytes.contains(where: { $0 < 0x20 || $0 == 0x7F }) ? .syntax : .needsSMTPUTF8
        }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw .syntax }
        var index = 0
        // Local part: Quoted-string or Dot-string.
        if bytes.first == UInt8(ascii: "\"") {
            index = 1
            var closed = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\\") {
                    guard index + 1 < bytes.count, (32...126).contains(bytes[index + 1]) || bytes[index + 1] >= 0x80
                    else { throw .syntax }
                    index += 2
                    continue
                }
                if byte == UInt8(ascii: "\"") {
                    closed = true
                    index += 1
                    break
                }
                // qtextSMTP: %d32-33 / %d35-91 / %d93-126, plus UTF-8 with SMTPUTF8.
                guard byte == 32 || byte == 33 || (35...91).contains(byte) || (93...126).contains(byte) || byte >= 0x80
                else { throw .syntax }
                index += 1
            }
            guard closed else { throw .syntax }
        } else {
            var atomLength = 0
            while index < bytes.count, bytes[index] != UInt8(ascii: "@") {
                let byte = bytes[index]
                if byte == UInt8(ascii: ".") {
                    guard atomLength > 0 else { throw .syntax }
                    atomLength = 0
                } else {
                    guard isAtext(byte) else { throw .syntax }
                    atomLength += 1
                }
                index += 1
            }
            guard atomLength > 0 else { throw .syntax }
        }
        guard index < bytes.count, bytes[index] == UInt8(ascii: "@") else { throw .syntax }
        let localPart = bytes[..<index]
        guard localPart.count <= SMTPLimits.maximumLocalPartLength else { throw .tooLong }
        let domain = bytes[(index + 1)...]
        guard domain.count <= SMTPLimits.maximumDomainLength else { throw .tooLong }
        if domain.first == UInt8(ascii: "[") {
            guard isAddressLiteral(domain) else { throw .syntax }
        } else {
            guard isDomain(Substring(decoding: domain, as: UTF8.self).utf8, utf8: utf8) else { throw .syntax }
        }
        return Mailbox(
            localPart: String(decoding: localPart, as: UTF8.self),
            domain: String(decoding: domain, as: UTF8.self))
    }

    /// RFC 5322 atext, plus UTF-8 bytes (RFC 6531 extends atext; the caller checked SMTPUTF8).
    static func isAtext(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
            UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "/"),
            UInt8(ascii: "="), UInt8(ascii: "?"), UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"),
            UInt8(ascii: "{"), UInt8(ascii: "|"), UInt8(ascii: "}"), UInt8(ascii: "~"):
            return true
        default:
            return byte >= 0x80
        }
    }

    /// `Domain = sub-domain *("." sub-domain)`, `sub-domain = Let-dig [Ldh-str]`; with SMTPUTF8 a
    /// label may be a U-label (RFC 6531 §3.3), which we accept as any non-ASCII bytes.
    public static func isDomain<C: BidirectionalCollection>(_ text: C, utf8: Bool) -> Bool where C.Element == UInt8 {
        guard !text.isEmpty, text.count <= SMTPLimits.maximumDomainLength else { return false }
        for label in text.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard let first = label.first, let last = label.last, label.count <= 63 else { return false }
            for byte in label {
                let ok = isLetDig(byte) || byte == UInt8(ascii: "-") || (utf8 && byte >= 0x80)
                guard ok else { return false }
            }
            guard first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else { return false }
        }
        return true
    }

    static func isLetDig(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// RFC 5321 §4.1.3: `[IPv4]`, `[IPv6:…]`, or a General-address-literal `[tag:dcontent]`.
    static func isAddressLiteral<C: BidirectionalCollection>(_ text: C) -> Bool where C.Element == UInt8 {
        guard text.count >= 3, text.first == UInt8(ascii: "["), text.last == UInt8(ascii: "]") else { return false }
        let inner = String(decoding: text.dropFirst().dropLast(), as: UTF8.self)
        if let colon = inner.firstIndex(of: ":") {
            let tag = inner[..<colon]
            let content = inner[inner.index(after: colon)...]
            // Standardized-tag = Ldh-str
            guard !content.isEmpty, isDomain(tag.utf8, utf8: false), !tag.contains(".") else { return false }
            if tag.lowercased() == "ipv6" { return isIPv6(content) }
            // dcontent = %d33-90 / %d94-126
            return content.utf8.allSatisfy { (33...90).contains($0) || (94...126).contains($0) }
        }
        return isIPv4(Substring(inner))
    }

    static func isIPv4(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        return parts.allSatisfy { part in
            part.count >= 1 && part.count <= 3 && part.utf8.allSatisfy { (48...57).contains($0) } && Int(part)! <= 255  // digits only, checked above
        }
    }

    static func isIPv6(_ text: Substring) -> Bool {
        // Accepts the RFC 4291 text forms, with an optional embedded IPv4 tail.
        var groups = text.split(separator: ":", omittingEmptySubsequences: false).map { Substring($0) }
        var maxGroups = 8
        if let last = groups.last, last.contains(".") {
            guard isIPv4(last) else { return false }
            groups.removeLast()
            groups.append("0")  // stands for the two groups of the IPv4 tail
            maxGroups = 7
        }
        let bytes = Array(text.utf8)
        let doubleColons = bytes.indices.dropLast().filter { bytes[$0] == 0x3A && bytes[$0 + 1] == 0x3A }.count
        guard doubleColons <= 1 else { return false }
        if doubleColons == 1 {
            // A colon at either end belongs to the "::" or is not allowed.
            guard !text.hasPrefix(":") || text.hasPrefix("::"), !text.hasSuffix(":") || text.hasSuffix("::") else {
                return false
            }
            let nonEmpty = groups.filter { !$0.isEmpty }
            guard nonEmpty.count < maxGroups else { return false }
            return nonEmpty.allSatisfy(isHexGroup)
        }
        return groups.count == maxGroups && groups.allSatisfy(isHexGroup)
    }

    static func isHexGroup(_ group: Substring) -> Bool {
        (1...4).contains(group.count) && group.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 | 0x20 >= 97 && $0 | 0x20 <= 102) }
    }
}
