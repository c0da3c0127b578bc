/// The line on which each key of a TOML document is written.
///
/// TOMLKit does not expose the source position of a parsed node, so this scans the raw text:
/// it tracks the current `[table]` / `[[array]]` header, numbers array-of-tables entries, and
/// records the line of every `key =`, every array element and every header. It is run only on
/// text that TOMLKit has already accepted, so it need not diagnose anything; on text it does not
/// understand it stops early, and lookups fall back to the nearest enclosing table.
package struct TOMLSourceMap: Sendable {
    private var lines: [ConfigPath: Int] = [:]

    /// Scans a TOML document.
    /// - Parameter text: The document, as handed to the TOML parser.
    package init(text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        self.lines = scanner.lines
    }

    /// The line (1-based) where `path` is written, or where its nearest enclosing table or
    /// array is, or `nil` when none of them is in the text (a default, or the root).
    /// - Parameter path: A key, table or array element.
    /// - Returns: The line number, or `nil`.
    package func line(for path: ConfigPath) -> Int? {
        var current: ConfigPath? = path
        while let candidate = current, !candidate.isRoot {
            if let line = self.lines[candidate] { return line }
            current = candidate.parent
        }
        return nil
    }

    /// The line where exactly `path` is written, with no fallback.
    /// - Parameter path: A key, table or array element.
    /// - Returns: The line number, or `nil`.
    package func exactLine(for path: ConfigPath) -> Int? {
        self.lines[path]
    }
}

extension TOMLSourceMap {
    /// A single forward pass over the document's bytes (TOML 1.0 grammar, leniently).
    fileprivate struct Scanner {
        let bytes: [UInt8]
        var position = 0
        var line = 1
        var lines: [ConfigPath: Int] = [:]
        /// How many `[[name]]` headers each array-of-tables path has had so far.
        var arrayTableCounts: [ConfigPath: Int] = [:]

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var current: UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

        func peek(_ offset: Int) -> UInt8? {
            self.position + offset < self.bytes.count ? self.bytes[self.position + offset] : nil
        }

        mutating func advance() {
            if self.current == UInt8(ascii: "\n") { self.line += 1 }
            self.position += 1
        }

        mutating func record(_ path: ConfigPath, line: Int) {
            if self.lines[path] == nil { self.lines[path] = line }
        }

        mutating func skipSpaces() {
            while let byte = self.current, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                self.advance()
            }
        }

        mutating func skipToEndOfLine() {
            while let byte = self.current, byte != UInt8(ascii: "\n") { self.advance() }
        }

        /// Skips spaces, newlines and comments (inside arrays and between statements).
        mutating func skipBlank() {
            while let byte = self.current {
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                    self.advance()
                case UInt8(ascii: "#"):
                    self.skipToEndOfLine()
                default:
                    return
                }
            }
        }

        mutating func scanDocument() {
            var table = ConfigPath.root
            while true {
                self.skipBlank()
                guard let byte = self.current else { return }
                let start = self.position
                if byte == UInt8(ascii: "[") {
                    if let header = self.scanHeader() { table = header }
                } else {
                    let keyLine = self.line
                    let keys = self.scanKey()
                    self.skipSpaces()
                    if !keys.isEmpty, self.current == UInt8(ascii: "=") {
                        self.advance()
                        self.skipSpaces()
                        let path = self.recordKeys(keys, under: table, line: keyLine)
                        self.scanValue(path)
                    }
                }
                self.skipToEndOfLine()
                if self.position == start { self.advance() }
            }
        }

        /// Records `keys` (a dotted key) and each of its prefixes below `table`.
        mutating func recordKeys(_ keys: [String], under table: ConfigPath, line: Int) -> ConfigPath {
            var path = table
            for key in keys {
                path = path.appending(key)
                self.record(path, line: line)
            }
            return path
        }

        /// `[a.b]` or `[[a.b]]`; returns the table the following keys belong to.
        mutating func scanHeader() -> ConfigPath? {
            let headerLine = self.line
            self.advance()
            let isArray = self.current == UInt8(ascii: "[")
            if isArray { self.advance() }
            self.skipSpaces()
            let keys = self.scanKey()
            guard !keys.isEmpty else { return nil }
            // Resolve every prefix that names an array of tables to its latest entry.
            var path = ConfigPath.root
            for key in keys.dropLast() {
                path = path.appending(key)
                if let count = self.arrayTableCounts[path] { path = path.appending(index: count - 1) }
            }
            // `keys` is not empty (checked above).
            path = path.appending(keys[keys.count - 1])
            self.record(path, line: headerLine)
            if isArray {
                let count = (self.arrayTableCounts[path] ?? 0) + 1
                self.arrayTableCounts[path] = count
                path = path.appending(index: count - 1)
                self.record(path, line: headerLine)
            }
            return path
        }

        /// A possibly dotted key: bare, "basic" or 'literal' parts separated by dots.
        mutating func scanKey() -> [String] {
            var keys: [String] = []
            while true {
                self.skipSpaces()
                guard let byte = self.current else { return keys }
                if byte == UInt8(ascii: "\"") {
                    self.advance()
                    keys.append(self.scanBasicStringBody())
                } else if byte == UInt8(ascii: "'") {
                    self.advance()
                    keys.append(self.scanLiteralStringBody())
                } else {
                    let start = self.position
                    while let byte = self.current, Self.isBareKeyByte(byte) { self.advance() }
                    guard self.position > start else { return keys }
                    keys.append(String(decoding: self.bytes[start..<self.position], as: UTF8.self))
                }
                self.skipSpaces()
                guard self.current == UInt8(ascii: ".") else { return keys }
                self.advance()
            }
        }

        static func isBareKeyByte(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }

        /// The rest of a one-line "basic" string after its opening quote, escapes decoded.
        mutating func scanBasicStringBody() -> String {
            var scalars = String.UnicodeScalarView()
            var start = self.position
            func flush(_ scanner: Scanner, upTo end: Int) {
                scalars.append(contentsOf: String(decoding: scanner.bytes[start..<end], as: UTF8.self).unicodeScalars)
            }
            while let byte = self.current, byte != UInt8(ascii: "\n") {
                if byte == UInt8(ascii: "\"") {
                    flush(self, upTo: self.position)
                    self.advance()
                    return String(scalars)
                }
                if byte == UInt8(ascii: "\\") {
                    flush(self, upTo: self.position)
                    self.advance()
                    if let escaped = self.scanEscape() { scalars.append(escaped) }
                    start = self.position
                    continue
                }
                self.advance()
            }
            flush(self, upTo: self.position)
            return String(scalars)
        }

        /// One escape after a backslash: `\n`, `\"`, `\u00E9`, ….
        mutating func scanEscape() -> Unicode.Scalar? {
            guard let byte = self.current else { return nil }
            self.advance()
            switch byte {
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "f"): return "\u{0C}"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "e"): return "\u{1B}"
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let digits = byte == UInt8(ascii: "u") ? 4 : 8
                var value: UInt32 = 0
                for _ in 0..<digits {
                    guard let digit = self.current, let nibble = Self.hexValue(digit) else { return nil }
                    value = value << 4 | nibble
                    self.advance()
                }
                return Unicode.Scalar(value)
            default:
                return Unicode.Scalar(byte)
            }
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
        }

        /// The rest of a one-line 'literal' string after its opening quote.
        mutating func scanLiteralStringBody() -> String {
            let start = self.position
            while let byte = self.current, byte != UInt8(ascii: "'"), byte != UInt8(ascii: "\n") {
                self.advance()
            }
            let text = String(decoding: self.bytes[start..<self.position], as: UTF8.self)
            if self.current == UInt8(ascii: "'") { self.advance() }
            return text
        }

        /// Skips a `"""…"""` or `'''…'''` string whose opening delimiter is at the current position.
        mutating func skipMultilineString(quote: UInt8) {
            for _ in 0..<3 { self.advance() }
            while let byte = self.current {
                if quote == UInt8(ascii: "\""), byte == UInt8(ascii: "\\") {
                    self.advance()
                    self.advance()
                    continue
                }
                if byte == quote, self.peek(1) == quote, self.peek(2) == quote {
                    for _ in 0..<3 { self.advance() }
                    // Up to two more quotes belong to the content, just before the delimiter.
                    var extra = 0
                    while extra < 2, self.current == quote {
                        self.advance()
                        extra += 1
                    }
                    return
                }
                self.advance()
            }
        }

        /// A value at the current position, recording the lines of nested elements and keys.
        mutating func scanValue(_ path: ConfigPath) {
            guard let byte = self.current else { return }
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                if self.peek(1) == byte, self.peek(2) == byte {
                    self.skipMultilineString(quote: byte)
                } else {
                    self.advance()
                    if byte == UInt8(ascii: "\"") {
                        _ = self.scanBasicStringBody()
                    } else {
                        _ = self.scanLiteralStringBody()
                    }
                }
            case UInt8(ascii: "["):
                self.scanArray(path)
            case UInt8(ascii: "{"):
                self.scanInlineTable(path)
            default:
                // Number, boolean or date: up to a delimiter (dates may contain a space).
                while let byte = self.current {
                    switch byte {
                    case UInt8(ascii: "\n"), UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"),
                        UInt8(ascii: "#"):
                        return
                    default:
                        self.advance()
                    }
                }
            }
        }

        mutating func scanArray(_ path: ConfigPath) {
            self.advance()
            var index = 0
            while true {
                self.skipBlank()
                guard let byte = self.current else { return }
                if byte == UInt8(ascii: "]") {
                    self.advance()
                    return
                }
                let start = self.position
                let element = path.appending(index: index)
                self.record(element, line: self.line)
                self.scanValue(element)
                self.skipBlank()
                if self.current == UInt8(ascii: ",") {
                    self.advance()
                    index += 1
                } else if self.current != UInt8(ascii: "]") || self.position == start {
                    return  // Not TOML this scanner understands; stop here.
                }
            }
        }

        mutating func scanInlineTable(_ path: ConfigPath) {
            self.advance()
            while true {
                self.skipBlank()
                guard let byte = self.current else { return }
                if byte == UInt8(ascii: "}") {
                    self.advance()
                    return
                }
                let keyLine = self.line
                let keys = self.scanKey()
                self.skipSpaces()
                guard !keys.isEmpty, self.current == UInt8(ascii: "=") else { return }
                self.advance()
                self.skipSpaces()
                let valuePath = self.recordKeys(keys, under: path, line: keyLine)
                self.scanValue(valuePath)
                self.skipBlank()
                if self.current == UInt8(ascii: ",") { self.advance() }
            }
        }
    }
}
