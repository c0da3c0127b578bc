import CRelayShims
import Foundation

/// The `[auth] users_file`: one `name:hash` per line, the hash in crypt(3) form (yescrypt
/// `$y$…`, sha512-crypt `$6$…`); blank lines and `#` comments are skipped.
struct UsersFile: Sendable {
    private let hashes: [String: String]

    /// - Throws: `UsersFileError` naming the file and the line.
    static func load(_ path: String) throws(UsersFileError) -> UsersFile {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw UsersFileError(description: "\(path): cannot read the users file")
        }
        var hashes: [String: String] = [:]
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":"), colon != line.startIndex else {
                throw UsersFileError(description: "\(path):\(index + 1): expected name:hash")
            }
            let hash = String(line[line.index(after: colon)...])
            guard hash.hasPrefix("$") else {
                throw UsersFileError(description: "\(path):\(index + 1): the hash is not in crypt(3) form ($y$…, $6$…)")
            }
            hashes[String(line[..<colon])] = hash
        }
        return UsersFile(hashes: hashes)
    }

    /// Checks a password; slow on purpose (crypt(3)), so call it off the event loop. An unknown
    /// user costs a hash too, so timing does not tell which users exist.
    func matches(user: String, password: String) -> Bool {
        guard let hash = hashes[user] else {
            _ = CRelayShims_crypt_matches(password, "$6$relaydummysalt$")
            return false
        }
        return CRelayShims_crypt_matches(password, hash) == 1
    }
}

struct UsersFileError: Error, CustomStringConvertible {
    var description: String
}
