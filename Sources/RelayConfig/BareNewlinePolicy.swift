/// What a bare LF (not preceded by CR) in commands or message text gets (`[limits] bare_newline`).
/// A bare CR is refused whatever the policy.
public enum BareNewlinePolicy: String, Sendable, CaseIterable {
    /// `normalize` for clients in `[relay] allow_networks`, `reject` for everyone else.
    case rejectRemote = "reject-remote"
    /// A message holding one is refused with `550 5.5.2` after the end of data; a command line
    /// ending in one gets `550 5.5.2` and the connection is closed (RFC 5321 §2.3.8).
    case reject
    /// A bare LF is read as CRLF everywhere, in commands and data.
    case normalize
}
