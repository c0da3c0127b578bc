#ifndef RELAY_COPENSSL_SHIMS_H
#define RELAY_COPENSSL_SHIMS_H

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

// Macros Swift cannot import, as functions (PITFALLS: about 30 of OpenSSL's are macros).
static inline int COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline int COpenSSLShims_TLS1_2_VERSION(void) { return TLS1_2_VERSION; }
static inline int COpenSSLShims_TLS1_3_VERSION(void) { return TLS1_3_VERSION; }
static inline void COpenSSLShims_SSL_CTX_harden(SSL_CTX *ctx) {
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
}
static inline int COpenSSLShims_SSL_set_tlsext_host_name(SSL *ssl, const char *name) {
    return (int)SSL_set_tlsext_host_name(ssl, name);
}
static inline int COpenSSLShims_SSL_ERROR_WANT_READ(void) { return SSL_ERROR_WANT_READ; }
static inline int COpenSSLShims_SSL_ERROR_WANT_WRITE(void) { return SSL_ERROR_WANT_WRITE; }
static inline int COpenSSLShims_SSL_ERROR_ZERO_RETURN(void) { return SSL_ERROR_ZERO_RETURN; }
static inline int COpenSSLShims_SSL_ERROR_SYSCALL(void) { return SSL_ERROR_SYSCALL; }
static inline int COpenSSLShims_SSL_FILETYPE_PEM(void) { return SSL_FILETYPE_PEM; }
static inline int COpenSSLShims_SSL_VERIFY_PEER(void) { return SSL_VERIFY_PEER; }
static inline int COpenSSLShims_SSL_VERIFY_NONE(void) { return SSL_VERIFY_NONE; }
static inline long COpenSSLShims_X509_V_OK(void) { return X509_V_OK; }

#endif
