import Logging
import RelayConfig
import RelayLog

/// Installs Relay's log handler with the configured level and format.
func bootstrapLogging(_ configuration: LogConfiguration) {
    let level: Logger.Level
    switch configuration.level {
    case .trace: level = .trace
    case .debug: level = .debug
    case .info: level = .info
    case .notice: level = .notice
    case .warning: level = .warning
    case .error: level = .error
    }
    let format: RelayLogHandler.Format = configuration.format == .json ? .json : .logfmt
    LoggingSystem.bootstrap { label in RelayLogHandler(label: label, level: level, format: format) }
}
