import Foundation
import Logging

/// Writes one line per event to stderr, as logfmt (`key=value …`) or as one JSON object.
///
/// The log message is the event name: `logger.info("queued", metadata: ["id": …])` prints
/// `time=… level=info component=listener event=queued id=…`.
public struct RelayLogHandler: LogHandler {
    public enum Format: Sendable {
        case logfmt
        case json
    }

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let component: String
    private let format: Format

    /// - Parameters:
    ///   - label: the logger's label; its last dotted part is the component (`relay.listener` → `listener`).
    public init(label: String, level: Logger.Level, format: Format) {
        self.component = label.split(separator: ".").last.map(String.init) ?? label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("time", Self.timestamp()), ("level", "\(event.level)"), ("component", component),
            ("event", "\(event.message)"),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        // Stable order: the identifiers first, then the rest by name.
        let leading = ["session", "id"]
        for key in leading { if let value = merged[key] { fields.append((key, "\(value)")) } }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !leading.contains(key) {
            fields.append((key, "\(value)"))
        }
        let line: String
        switch format {
        case .logfmt: line = fields.map { "\($0.0)=\(Self.logfmtValue($0.1))" }.joined(separator: " ")
        case .json: line = "{" + fields.map { "\"\($0.0)\":\(Self.jsonValue($0.0, $0.1))" }.joined(separator: ",") + "}"
        }
        let prefix = Self.toJournal ? "<\(Self.syslogPriority(event.level))>" : ""
        FileHandle.standardError.write(Data((prefix + line + "\n").utf8))
    }

    /// Standard error is systemd's journal stream (`JOURNAL_STREAM` names its device and inode,
    /// sd-daemon(3)): then each line starts with its syslog priority, `<3>` for an error, so
    /// that `journalctl -p warning` finds warnings.
    static let toJournal: Bool = {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":").compactMap { UInt64($0) }
        var info = stat()
        guard parts.count == 2, fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == parts[0] && UInt64(info.st_ino) == parts[1]
    }()

    /// syslog(3) priorities: LOG_CRIT 2 … LOG_DEBUG 7.
    static func syslogPriority(_ level: Logger.Level) -> Int {
        switch level {
        case .critical: 2
        case .error: 3
        case .warning: 4
        case .notice: 5
        case .info: 6
        case .debug, .trace: 7
        }
    }

    static func logfmtValue(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains(where: { $0 == " " || $0 == "=" || $0 == "\"" || $0.asciiValue.map { $0 < 32 } ?? false })
        guard needsQuotes else { return value }
        return jsonString(value)
    }

    /// Fields that hold counts, sizes, ids of processes and seconds: numbers in JSON, so that a
    /// log pipeline can sum and compare them without parsing strings (issue 12).
    static let numericFields: Set<String> = [
        "size", "nrcpt", "delay", "uid", "pid", "sessions", "written", "messages", "concurrency", "max_connections",
        "unrecorded_outcomes", "deliveries_in_flight", "exit",
    ]

    /// A JSON value: a number for a numeric field whose value reads as one, else a string.
    static func jsonValue(_ key: String, _ value: String) -> String {
        guard numericFields.contains(key), isJSONNumber(value) else { return jsonString(value) }
        return value
    }

    /// `-?digits(.digits)?`, no leading zeros: the JSON number forms the fields above take.
    static func isJSONNumber(_ value: String) -> Bool {
        var digits = Substring(value)
        if digits.first == "-" { digits = digits.dropFirst() }
        let parts = digits.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) })
        else { return false }
        return parts[0] == "0" || parts[0].first != "0"
    }

    static func jsonString(_ value: String) -> String {
        var out = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000)
    }
}
