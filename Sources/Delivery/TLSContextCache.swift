import NIOConcurrencyHelpers
import RelayTLS

/// Client TLS contexts, built once per kind (verifying or not, with a route's CA file) and
/// shared by every connection.
final class TLSContextCache: Sendable {
    private let contexts = NIOLockedValueBox<[String: TLSContext]>([:])

    /// - Throws: `TLSError` when the trust store or the CA file cannot be loaded.
    func context(verify: Bool, caFile: String) throws(TLSError) -> TLSContext {
        let key = "\(verify)|\(caFile)"
        if let context = contexts.withLockedValue({ $0[key] }) { return context }
        let context = try TLSContext(clientVerifying: verify, caFile: caFile.isEmpty ? nil : caFile)
        contexts.withLockedValue { $0[key] = context }
        return context
    }
}
