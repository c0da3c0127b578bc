import TOMLKit

/// Reads the keys of one TOML table into configuration values, reporting to a
/// ``DecodingContext`` every problem (with its key path), and at ``finish()`` every key it was
/// not asked about.
struct TableReader {
    let table: TOMLTable
    let path: ConfigPath
    let context: DecodingContext
    /// The keys asked about, in order (for "did you mean" suggestions).
    private var knownKeys: [String] = []

    init(table: TOMLTable, path: ConfigPath, context: DecodingContext) {
        self.table = table
        self.path = path
        self.context = context
    }

    /// Reads `key` into `value` when present; an absent key leaves the default in place.
    mutating func read<T>(_ key: String, _ converter: ValueConverter<T>, into value: inout T) {
        if let converted = self.convert(key, converter) { value = converted }
    }

    /// Reads a key that must be present; reports "missing required key" and returns `nil` if not.
    mutating func require<T>(_ key: String, _ converter: ValueConverter<T>) -> T? {
        guard self.table.contains(key: key) else {
            self.knownKeys.append(key)
            self.context.report("missing required key", at: self.path.appending(key))
            return nil
        }
        return self.convert(key, converter)
    }

    /// Reads a sub-table (`[name]`) when present, with `decode`, then reports its unknown keys.
    /// - Returns: What `decode` returned, or `nil` when the key is absent or not a table.
    mutating func section<T>(_ key: String, _ decode: (inout TableReader) -> T?) -> T? {
        self.knownKeys.append(key)
        guard let value = self.table[key] else { return nil }
        let sectionPath = self.path.appending(key)
        guard let table = value.table else {
            self.context.report("expected a table ([\(sectionPath)]), got \(describeType(value.type))", at: sectionPath)
            return nil
        }
        return Self.decode(table, at: sectionPath, context: self.context, decode)
    }

    /// Reads an array of tables (`[[name]]`) when present, each entry with `decode`.
    /// - Returns: The entries, or `nil` when the key is absent or any entry is malformed (so
    ///   that positions in the result are positions in the file).
    mutating func sections<T>(_ key: String, _ decode: (inout TableReader) -> T?) -> [T]? {
        self.knownKeys.append(key)
        guard let value = self.table[key] else { return nil }
        let arrayPath = self.path.appending(key)
        guard let array = value.array else {
            self.context.report(
                "expected an array of tables ([[\(arrayPath)]]), got \(describeType(value.type))",
                at: arrayPath
            )
            return nil
        }
        var result: [T] = []
        var complete = true
        for (index, element) in array.enumerated() {
            let entryPath = arrayPath.appending(index: index)
            guard let table = element.table else {
                self.context.report("expected a table, got \(describeType(element.type))", at: entryPath)
                complete = false
                continue
            }
            if let entry = Self.decode(table, at: entryPath, context: self.context, decode) {
                result.append(entry)
            } else {
                complete = false
            }
        }
        return complete ? result : nil
    }

    /// Reports every key of the table that no `read`/`require`/`section` asked about.
    func finish() {
        for key in self.table.keys where !self.knownKeys.contains(key) {
            let isTable =
                self.table[key]?.type == .table
                || (self.table[key]?.array.map { !$0.isEmpty && $0.allSatisfy { $0.type == .table } } ?? false)
            var reason = isTable ? "unknown table" : "unknown key"
            if let suggestion = self.suggestion(for: key) {
                reason += " (did you mean \(TOMLText.quoted(suggestion))?)"
            }
            self.context.report(reason, at: self.path.appending(key))
        }
    }

    private mutating func convert<T>(_ key: String, _ converter: ValueConverter<T>) -> T? {
        self.knownKeys.append(key)
        guard let value = self.table[key] else { return nil }
        do {
            return try converter.convert(value)
        } catch {
            self.context.report(error, at: self.path.appending(key))
            return nil
        }
    }

    private static func decode<T>(
        _ table: TOMLTable,
        at path: ConfigPath,
        context: DecodingContext,
        _ decode: (inout TableReader) -> T?
    ) -> T? {
        var reader = TableReader(table: table, path: path, context: context)
        let result = decode(&reader)
        reader.finish()
        return result
    }

    /// The known key closest to a misspelt one, if it is close enough to be a typo, or the one
    /// it is a shortening of (`password` for `password_file`).
    private func suggestion(for key: String) -> String? {
        if key.count >= 4, let longer = self.knownKeys.first(where: { $0.hasPrefix(key) }) {
            return longer
        }
        let candidates = self.knownKeys.map { ($0, EditDistance.between($0, key)) }
        guard let best = candidates.min(by: { $0.1 < $1.1 }), best.1 <= max(1, min(3, key.count / 3)) else {
            return nil
        }
        return best.0
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased().utf8)
        let b = Array(b.lowercased().utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current[j] = min(previous[j] + 1, current[j - 1] + 1, substitution)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
