/// One accepted recipient with its DSN parameters.
public struct SMTPRecipient: Sendable, Hashable {
    public var mailbox: Mailbox
    public var parameters: RecipientParameters
    public init(mailbox: Mailbox, parameters: RecipientParameters = RecipientParameters()) {
        self.mailbox = mailbox
        self.parameters = parameters
    }
}

/// The envelope of one transaction, as the session hands it over for commit.
public struct SMTPEnvelope: Sendable, Hashable {
    public var heloName: String
    /// The client greeted with EHLO.
    public var extended: Bool
    /// `nil` is the null reverse-path `<>`.
    public var sender: Mailbox?
    public var mailParameters: MailParameters
    public var recipients: [SMTPRecipient]

    public init(
        heloName: String, extended: Bool, sender: Mailbox?, mailParameters: MailParameters,
        recipients: [SMTPRecipient]
    ) {
        self.heloName = heloName
        self.extended = extended
        self.sender = sender
        self.mailParameters = mailParameters
        self.recipients = recipients
    }
}
