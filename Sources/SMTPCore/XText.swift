/// RFC 3461 §4 xtext: printable ASCII but `+` and `=`, other octets as `+XX`.
public enum XText {
    /// Decodes xtext. - Returns: `nil` when the text is not valid xtext, or when it decodes to
    /// anything but printable ASCII and white space: RFC 3461 §4 allows only those in ENVID and
    /// ORCPT, and a CR or LF there would be written into a bounce's header as a new field.
    public static func decode(_ text: Substring) -> String? {
        var out: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                let decoded = high << 4 | low
                guard (32...126).contains(decoded) || decoded == 9 else { return nil }
                out.append(decoded)
            } else {
                guard (33...126).contains(byte), byte != UInt8(ascii: "=") else { return nil }
                out.append(byte)
            }
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Encodes text as xtext.
    public static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if (33...126).contains(byte), byte != UInt8(ascii: "+"), byte != UInt8(ascii: "=") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out += "+" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }

    /// Uppercase hex only, as RFC 3461 requires.
    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
