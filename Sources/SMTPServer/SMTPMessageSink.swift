import NIOConcurrencyHelpers
import NIOCore
import SMTPCore

/// Where a session's messages go. The SMTP server knows nothing of storage: the role that
/// runs it supplies a sink. All calls come on the session's event loop.
public protocol SMTPMessageSink: AnyObject {
    /// A message begins (after `354`, or with the first BDAT chunk).
    /// - Parameters:
    ///   - envelope: sender and recipients accepted so far.
    ///   - session: facts about the session.
    /// - Returns: the writer that receives the text.
    func beginMessage(envelope: SMTPEnvelope, session: SMTPSessionInfo) -> any SMTPMessageWriter
}

/// Receives the text of one message and commits it.
public protocol SMTPMessageWriter: AnyObject {
    /// Appends decoded message text (CRLF line endings, dots unstuffed).
    func write(_ bytes: ByteBuffer)
    /// Commits the complete message durably.
    /// - Parameter completion: called once, on any thread, with the queue id or the failure.
    func commit(envelope: SMTPEnvelope, completion: @escaping @Sendable (Result<String, any Error>) -> Void)
    /// Drops the message.
    func abort()
}

/// The client's name for trace headers, filled in when a lookup finishes (possibly after the
/// session began); `unknown` until then.
public final class SMTPClientName: Sendable {
    private let value = NIOLockedValueBox("unknown")

    public init(_ name: String = "unknown") {
        value.withLockedValue { $0 = name }
    }

    public var name: String {
        get { value.withLockedValue { $0 } }
        set { value.withLockedValue { $0 = newValue } }
    }
}

/// Facts about one SMTP session that a sink or a log line may need.
public struct SMTPSessionInfo: Sendable {
    public var sessionID: String
    /// Forward-confirmed reverse name of the client, as far as known.
    public var clientName: SMTPClientName
    /// The client's IP address, without port.
    public var clientAddress: String
    public var clientPort: Int
    /// The listener's address, as configured.
    public var listenerName: String
    /// TLS version and cipher once the session runs over TLS.
    public var tls: (version: String, cipher: String)?
    /// The authenticated user (RFC 4954), if any.
    public var authUser: String?

    public init(
        sessionID: String, clientAddress: String, clientPort: Int, listenerName: String,
        clientName: SMTPClientName = SMTPClientName()
    ) {
        self.clientName = clientName
        self.sessionID = sessionID
        self.clientAddress = clientAddress
        self.clientPort = clientPort
        self.listenerName = listenerName
    }
}
