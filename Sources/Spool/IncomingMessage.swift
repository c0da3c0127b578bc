import SMTPCore

/// Facts about the client that handed a message over, stored with it.
public struct MessageClient: Sendable, Hashable {
    public var sessionID: String
    /// The client's IP address, without port.
    public var address: String
    public var port: Int
    /// Forward-confirmed reverse DNS name, or `unknown`.
    public var name: String
    public var heloName: String
    /// RFC 3848 protocol name: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA, or LOCAL.
    public var protocolName: String
    public var tlsVersion: String?
    public var tlsCipher: String?
    public var authUser: String?

    public init(
        sessionID: String, address: String, port: Int, name: String, heloName: String, protocolName: String,
        tlsVersion: String? = nil, tlsCipher: String? = nil, authUser: String? = nil
    ) {
        self.sessionID = sessionID
        self.address = address
        self.port = port
        self.name = name
        self.heloName = heloName
        self.protocolName = protocolName
        self.tlsVersion = tlsVersion
        self.tlsCipher = tlsCipher
        self.authUser = authUser
    }
}

/// A complete message waiting to be committed.
public struct IncomingMessage: Sendable {
    public var queueID: String
    /// Unix seconds.
    public var arrivalTime: Double
    public var envelope: SMTPEnvelope
    public var client: MessageClient
    public var body: MessageBody
    /// `message`, or `bounce` / `notice` for the DSNs Relay makes (never bounced themselves).
    public var kind: String

    public init(
        queueID: String, arrivalTime: Double, envelope: SMTPEnvelope, client: MessageClient, body: MessageBody,
        kind: String = "message"
    ) {
        self.kind = kind
        self.queueID = queueID
        self.arrivalTime = arrivalTime
        self.envelope = envelope
        self.client = client
        self.body = body
    }
}
