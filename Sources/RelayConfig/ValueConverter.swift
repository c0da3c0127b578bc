import TOMLKit

/// Turns one TOML value into a typed configuration value, or says why it cannot.
///
/// Converters compose: ``array(of:)`` names the failing element, ``checked(_:)`` adds a range or
/// rule, ``map(_:)`` builds a domain type from a simpler one.
struct ValueConverter<T> {
    let convert: (TOMLValueConvertible) throws(DecodingProblem) -> T

    init(_ convert: @escaping (TOMLValueConvertible) throws(DecodingProblem) -> T) {
        self.convert = convert
    }

    /// This converter followed by a transformation that may fail.
    func map<U>(_ transform: @escaping (T) throws(DecodingProblem) -> U) -> ValueConverter<U> {
        ValueConverter<U> { (value) throws(DecodingProblem) -> U in try transform(try self.convert(value)) }
    }

    /// This converter followed by a rule; `rule` returns the reason when the value breaks it.
    func checked(_ rule: @escaping (T) -> String?) -> ValueConverter<T> {
        self.map { (value) throws(DecodingProblem) -> T in
            if let reason = rule(value) { throw DecodingProblem(reason) }
            return value
        }
    }

    /// This converter, its result wrapped in an optional (for keys whose absence means something).
    var optional: ValueConverter<T?> { self.map { Optional($0) } }

    /// A TOML array whose every element this converter accepts.
    var array: ValueConverter<[T]> {
        ValueConverter<[T]> { (value) throws(DecodingProblem) -> [T] in
            guard let array = value.array else {
                throw DecodingProblem("expected an array, got \(describeType(value.type))")
            }
            var result: [T] = []
            for (index, element) in array.enumerated() {
                do throws(DecodingProblem) {
                    result.append(try self.convert(element))
                } catch {
                    throw DecodingProblem(error.reason, at: [.index(index)] + error.relativePath)
                }
            }
            return result
        }
    }
}

// MARK: - TOML types

extension ValueConverter where T == String {
    static var string: Self {
        Self { (value) throws(DecodingProblem) -> String in
            guard let string = value.string else {
                throw DecodingProblem("expected a string, got \(describeType(value.type))")
            }
            return string
        }
    }

    /// A string that must not be empty (paths, names).
    static var nonEmptyString: Self {
        Self.string.checked { $0.isEmpty ? "must not be empty" : nil }
    }
}

extension ValueConverter where T == Bool {
    static var bool: Self {
        Self { (value) throws(DecodingProblem) -> Bool in
            guard let bool = value.bool else {
                throw DecodingProblem("expected true or false, got \(describeType(value.type))")
            }
            return bool
        }
    }
}

extension ValueConverter where T == Int {
    /// An integer in `range`.
    static func integer(_ range: ClosedRange<Int>) -> Self {
        Self { (value) throws(DecodingProblem) -> Int in
            guard let int = value.int else {
                throw DecodingProblem("expected an integer, got \(describeType(value.type))")
            }
            return int
        }
        .checked { value in range.contains(value) ? nil : rangeReason(value, range) }
    }

    /// An integer of at least `minimum`.
    static func integer(atLeast minimum: Int) -> Self {
        .integer(minimum...Int.max)
    }

    /// A size in bytes: an integer, or a string with a unit (``SizeSyntax``), at least `minimum`.
    static func size(atLeast minimum: Int) -> Self {
        Self { (value) throws(DecodingProblem) -> Int in
            if let int = value.int { return int }
            guard let string = value.string else {
                throw DecodingProblem(
                    "expected \(SizeSyntax.expectation) or a number of bytes, got \(describeType(value.type))"
                )
            }
            guard let bytes = SizeSyntax.parse(string) else {
                throw DecodingProblem("expected \(SizeSyntax.expectation), got \(TOMLText.quoted(string))")
            }
            return bytes
        }
        .checked { value in value >= minimum ? nil : rangeReason(value, minimum...Int.max) }
    }

    private static func rangeReason(_ value: Int, _ range: ClosedRange<Int>) -> String {
        range.upperBound == Int.max
            ? "must be at least \(range.lowerBound), got \(value)"
            : "must be \(range.lowerBound) to \(range.upperBound), got \(value)"
    }
}

extension ValueConverter where T == Duration {
    /// A duration string with a unit (``DurationSyntax``), longer than zero unless `allowZero`.
    static func duration(allowZero: Bool = false) -> Self {
        Self { (value) throws(DecodingProblem) -> Duration in
            guard let string = value.string else {
                throw DecodingProblem(
                    "expected \(DurationSyntax.expectation) in quotes, got \(describeType(value.type))"
                )
            }
            guard let duration = DurationSyntax.parse(string) else {
                throw DecodingProblem("expected \(DurationSyntax.expectation), got \(TOMLText.quoted(string))")
            }
            return duration
        }
        .checked { duration in !allowZero && duration == .zero ? "must be longer than 0s" : nil }
    }
}

extension ValueConverter where T == Duration? {
    /// A duration, where `"0"` (also `0` or `"0s"`) means "never" (`nil`).
    static var durationOrDisabled: Self {
        Self { (value) throws(DecodingProblem) -> Duration? in
            if value.int == 0 || value.string == "0" { return nil }
            let duration = try ValueConverter<Duration>.duration(allowZero: true).convert(value)
            return duration == .zero ? nil : duration
        }
    }
}

extension ValueConverter where T: CaseIterable & RawRepresentable, T.RawValue == String {
    /// One of an enumeration's raw values; the message lists them all.
    static var oneOf: Self {
        Self { (value) throws(DecodingProblem) -> T in
            let allowed = T.allCases.map { TOMLText.quoted($0.rawValue) }.joined(separator: ", ")
            guard let string = value.string else {
                throw DecodingProblem("expected one of \(allowed); got \(describeType(value.type))")
            }
            guard let result = T(rawValue: string) else {
                throw DecodingProblem("expected one of \(allowed); got \(TOMLText.quoted(string))")
            }
            return result
        }
    }
}

// MARK: - Configuration types

extension ValueConverter {
    /// A string parsed by a throwing initializer whose error carries the reason.
    static func parsed(_ parse: @escaping (String) throws(ConfigurationError) -> T) -> Self {
        ValueConverter<String>.string.map { (string) throws(DecodingProblem) -> T in
            do throws(ConfigurationError) {
                return try parse(string)
            } catch {
                throw DecodingProblem(error.reason)
            }
        }
    }
}

extension ValueConverter where T == IPNetwork {
    static var network: Self { .parsed { (text) throws(ConfigurationError) in try IPNetwork(parsing: text) } }
}

extension ValueConverter where T == DomainPattern {
    static var domainPattern: Self {
        .parsed { (text) throws(ConfigurationError) in try DomainPattern(parsing: text) }
    }
}

extension ValueConverter where T == ListenAddress {
    static var listenAddress: Self {
        .parsed { (text) throws(ConfigurationError) in try ListenAddress(parsing: text) }
    }
}

extension ValueConverter where T == ListenAddress? {
    /// A listen address, or `""` for none.
    static var optionalListenAddress: Self {
        .parsed { (text) throws(ConfigurationError) -> ListenAddress? in
            text.isEmpty ? nil : try ListenAddress(parsing: text)
        }
    }
}

extension ValueConverter where T == RouteHost {
    static var routeHost: Self { .parsed { (text) throws(ConfigurationError) in try RouteHost(parsing: text) } }
}

extension ValueConverter where T == String {
    /// A host name (`hostname`): letters, digits, hyphens and dots.
    static var hostName: Self {
        Self.string.checked { name in
            HostName.isValid(name)
                ? nil : "expected a host name such as \"relay.example.com\", got \(TOMLText.quoted(name))"
        }
    }

    /// A DNS server: `"ip"`, `"ip:port"` or `"[ipv6]:port"`.
    static var dnsServer: Self {
        Self.string.checked { text in
            if let split = HostPort(text), IPAddress(split.host) != nil, split.port != 0 {
                // Brackets only around IPv6, and a bracketed address needs no port.
                if !split.bracketed || split.host.contains(":") { return nil }
            }
            return "expected a server address such as \"192.0.2.53\", \"127.0.0.1:5353\" or \"[::1]:53\","
                + " got \(TOMLText.quoted(text))"
        }
    }

    /// `""` or a mailbox `local@domain` (`postmaster`).
    static var optionalMailbox: Self {
        Self.string.checked { text in
            guard !text.isEmpty else { return nil }
            if let at = text.lastIndex(of: "@"), at != text.startIndex,
                HostName.isValid(String(text[text.index(after: at)...]), allowUnicode: true),
                !text.contains(where: { $0 == "<" || $0 == ">" || $0.isWhitespace })
            {
                return nil
            }
            return "expected an address such as \"hostmaster@example.com\" (or \"\" for postmaster@<hostname>),"
                + " got \(TOMLText.quoted(text))"
        }
    }
}
