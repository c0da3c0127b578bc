/// SMTP AUTH for clients (`[auth]`); without it, AUTH is not offered.
/// Authenticated clients may relay to any domain.
public struct AuthConfiguration: Sendable, Equatable {
    /// `users_file`: path of a file of `name:crypt(3)-hash` lines (yescrypt, sha512-crypt).
    /// Required.
    public var usersFile: String

    /// Creates an auth configuration.
    /// - Parameter usersFile: The users file path.
    public init(usersFile: String) {
        self.usersFile = usersFile
    }
}
