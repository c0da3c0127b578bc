internal import COpenSSL
import NIOConcurrencyHelpers

/// A TLS configuration built once (an `SSL_CTX`), shared by every connection that uses it, and
/// swapped whole on reload.
public final class TLSContext: @unchecked Sendable {
    // SSL_CTX is reference counted and safe to share across threads once configured;
    // @unchecked Sendable rests on never changing it after init.
    let context: OpaquePointer
    let isServer: Bool
    /// Verify the peer's chain and name (client contexts with `verify`).
    let verifiesPeer: Bool

    public enum MinimumVersion: Sendable {
        case tls12
        case tls13
    }

    /// A server context from PEM files.
    /// - Throws: `TLSError` naming the file and OpenSSL's reason when the certificate or key is
    ///   missing, unreadable, or the two do not match.
    public init(serverCertificate certificate: String, key: String, minimum: MinimumVersion) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError.drained("cannot create a TLS context") }
        self.context = context
        isServer = true
        verifiesPeer = false
        COpenSSLShims_SSL_CTX_harden(context)
        _ = COpenSSLShims_SSL_CTX_set_min_proto_version(
            context, minimum == .tls13 ? COpenSSLShims_TLS1_3_VERSION() : COpenSSLShims_TLS1_2_VERSION())
        if let reason = TLSError.unreadable(certificate) { throw TLSError("cannot read the certificate \(certificate): \(reason)") }
        if let reason = TLSError.unreadable(key) { throw TLSError("cannot read the key \(key): \(reason)") }
        guard SSL_CTX_use_certificate_chain_file(context, certificate) == 1 else {
            throw TLSError.drained("cannot load the certificate \(certificate)")
        }
        guard SSL_CTX_use_PrivateKey_file(context, key, COpenSSLShims_SSL_FILETYPE_PEM()) == 1 else {
            let error = TLSError.drained("cannot load the key \(key)")
            // OpenSSL finds a key of the wrong pair while loading it.
            if error.reason.hasSuffix(": key values mismatch") {
                throw TLSError("the key \(key) does not match the certificate \(certificate)")
            }
            throw error
        }
        guard SSL_CTX_check_private_key(context) == 1 else {
            throw TLSError.drained("the key \(key) does not match the certificate \(certificate)")
        }
    }

    /// A client context.
    /// - Parameters:
    ///   - verify: check the chain (system store, plus `caFile`) and the host name.
    ///   - caFile: extra trust anchors, PEM.
    public init(clientVerifying verify: Bool, caFile: String? = nil) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError.drained("cannot create a TLS context") }
        self.context = context
        isServer = false
        verifiesPeer = verify
        COpenSSLShims_SSL_CTX_harden(context)
        _ = COpenSSLShims_SSL_CTX_set_min_proto_version(context, COpenSSLShims_TLS1_2_VERSION())
        if verify {
            SSL_CTX_set_verify(context, COpenSSLShims_SSL_VERIFY_PEER(), nil)
            guard SSL_CTX_set_default_verify_paths(context) == 1 else {
                throw TLSError.drained("cannot load the system trust store")
            }
            if let caFile, !caFile.isEmpty {
                if let reason = TLSError.unreadable(caFile) { throw TLSError("cannot read the CA file \(caFile): \(reason)") }
                guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                    throw TLSError.drained("cannot load the CA file \(caFile)")
                }
            }
        } else {
            SSL_CTX_set_verify(context, COpenSSLShims_SSL_VERIFY_NONE(), nil)
        }
    }

    deinit {
        SSL_CTX_free(context)
    }
}
