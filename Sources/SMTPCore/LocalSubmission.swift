/// What Postfix's cleanup does for mail submitted locally (sendmail, `relayctl send`) and no
/// MTA does for mail from the network: bare local names get the relay's domain
/// (`myorigin`), `root` and `postmaster` go where the postmaster says (the aliases every
/// Debian system has), and a message without `From:`, `Date:` or `Message-ID:` gets them, as
/// large receivers refuse mail without a Message-ID (issue 12).
public enum LocalSubmission {
    /// A bare name → `name@domain`, except that for a recipient (`postmaster` given) `root` and
    /// `postmaster` → the postmaster's address; a full address (or the null path) unchanged.
    /// Names are compared without case.
    public static func qualify(_ address: String, domain: String, postmaster: String? = nil) -> String {
        guard !address.isEmpty, !address.contains("@") else { return address }
        if let postmaster, ["root", "postmaster"].contains(address.lowercased()) { return postmaster }
        return "\(address)@\(domain)"
    }

    /// `text` with the header fields it lacks put first: `From: <sender>` (with the full name
    /// when given), `Date:` and `Message-ID:`. Field names are compared without case; only the
    /// header section (up to the first empty line) is searched.
    public static func completingHeader(
        _ text: [UInt8], sender: String, fullName: String?, time: Double, messageID: String
    ) -> [UInt8] {
        let present = fieldNames(text)
        var added = ""
        if !present.contains("from") {
            added += "From: " + (fullName.map { "\($0) <\(sender)>" } ?? sender) + "\r\n"
        }
        if !present.contains("date") { added += "Date: \(RFC5322Date.string(time))\r\n" }
        if !present.contains("message-id") { added += "Message-ID: <\(messageID)>\r\n" }
        // Text that starts with no header field (`echo hi | sendmail user`) is all body: the
        // added fields then need the empty line that ends a header section.
        if present.isEmpty && !startsWithEmptyLine(text) { added += "\r\n" }
        return Array(added.utf8) + text
    }

    private static func startsWithEmptyLine(_ text: [UInt8]) -> Bool {
        text.first == UInt8(ascii: "\n") || text.starts(with: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
    }

    /// The lowercased names of the header fields at the start of `text`.
    static func fieldNames(_ text: [UInt8]) -> Set<String> {
        var names = Set<String>()
        var start = text.startIndex
        while start < text.endIndex {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")) ?? text.endIndex
            var line = text[start..<end]
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { break }
            let isContinuation = line.first == UInt8(ascii: " ") || line.first == UInt8(ascii: "\t")
            // A field name is printable ASCII without a colon or space (RFC 5322 §2.2); a line
            // that is neither a field nor its continuation starts the body.
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex,
                line[..<colon].allSatisfy({ $0 > 32 && $0 < 127 }) || isContinuation
            else { break }
            if !isContinuation { names.insert(String(decoding: line[..<colon], as: UTF8.self).lowercased()) }
            start = end == text.endIndex ? end : end + 1
        }
        return names
    }
}
