/// Reads one header field from the start of a message's text, as the log wants it: Postfix's
/// cleanup logs `message-id=<…>` for every message it queues (issue 12).
enum HeaderFields {
    /// The octets of a message's start kept for this: a header section is rarely longer.
    static let headLimit = 8192

    /// The unfolded value of the first field `name` (case-insensitive) in the header section
    /// at the start of `head`, trimmed, with control characters dropped and at most 256
    /// characters; nil when there is none before the blank line (or within `head`).
    static func first(_ name: String, in head: [UInt8]) -> String? {
        let wanted = Array(name.lowercased().utf8) + [UInt8(ascii: ":")]
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        for index in head.indices where head[index] == UInt8(ascii: "\n") {
            var end = index
            if end > start, head[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            if end == start { break }  // the blank line ends the header section
            lines.append(head[start..<end])
            start = index + 1
        }
        for (number, line) in lines.enumerated() where line.count >= wanted.count {
            let fieldName = line.prefix(wanted.count).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
            guard fieldName == wanted else { continue }
            var value = Array(line.dropFirst(wanted.count))
            // Folded continuation lines start with a space or a tab (RFC 5322 §2.2.3).
            for next in lines.dropFirst(number + 1) {
                guard let first = next.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") else { break }
                value += next
            }
            let text = String(decoding: value.filter { $0 >= 32 && $0 != 127 }, as: UTF8.self)
            let trimmed = text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed()
            return trimmed.isEmpty ? nil : String(String(trimmed).prefix(256))
        }
        return nil
    }
}
