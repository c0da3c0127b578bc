/// A SASL exchange in progress on an SMTP session (RFC 4954).
struct SASLExchange: Sendable {
    enum Mechanism: Sendable {
        /// RFC 4616.
        case plain
        /// The LOGIN mechanism (draft-murchison-sasl-login): user name, then password.
        case login
    }

    var mechanism: Mechanism
    /// The user name, once known.
    var user: String?
    /// The password was given; the credentials are being checked.
    var checking = false
}
