internal import COpenSSL
import NIOCore
import NIOTLS

/// Fired inbound once the handshake is done, with what was negotiated.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    /// As OpenSSL spells it, e.g. `TLSv1.3`.
    public var version: String
    public var cipher: String
}

/// TLS over a NIO channel with OpenSSL working on memory BIOs only: ciphertext from the socket
/// goes into one BIO, ciphertext for the socket comes out of the other, so OpenSSL never
/// touches a file descriptor. Plaintext flows through the pipeline as ByteBuffers.
///
/// Learned the hard way (PITFALLS): flush the write BIO after every SSL call (TLS 1.3 session
/// tickets are written inside the handshake call), read at once when the handshake completes
/// (application data can share the segment with Finished), loop SSL_read until WANT_READ,
/// clear the per-thread error queue before each call, and send close_notify on close.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let context: TLSContext
    private let serverName: String?
    private var ssl: OpaquePointer?
    private var readBIO: OpaquePointer?
    private var writeBIO: OpaquePointer?
    private var handshakeDone = false
    private var closing = false
    private var pending: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    /// What the handshake negotiated, once it is done.
    public private(set) var negotiated: TLSHandshakeCompleted?

    /// - Parameters:
    ///   - context: a server or client context.
    ///   - serverName: for a client, the host name for SNI and (when the context verifies) for
    ///     the certificate name check.
    public init(context: TLSContext, serverName: String? = nil) {
        self.context = context
        self.serverName = serverName
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees both BIOs too
    }

    public func handlerAdded(context channelContext: ChannelHandlerContext) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.context), let readBIO = BIO_new(BIO_s_mem()), let writeBIO = BIO_new(BIO_s_mem())
        else {
            channelContext.fireErrorCaught(TLSError.drained("cannot create a TLS session"))
            channelContext.close(promise: nil)
            return
        }
        SSL_set_bio(ssl, readBIO, writeBIO)
        self.ssl = ssl
        self.readBIO = readBIO
        self.writeBIO = writeBIO
        if context.isServer {
            SSL_set_accept_state(ssl)
        } else {
            SSL_set_connect_state(ssl)
            if let serverName, !serverName.isEmpty {
                _ = COpenSSLShims_SSL_set_tlsext_host_name(ssl, serverName)
                if context.verifiesPeer { SSL_set1_host(ssl, serverName) }
            }
            if channelContext.channel.isActive { handshake(channelContext) }
        }
    }

    public func channelActive(context channelContext: ChannelHandlerContext) {
        if !self.context.isServer && !handshakeDone { handshake(channelContext) }
        channelContext.fireChannelActive()
    }

    public func channelRead(context channelContext: ChannelHandlerContext, data: NIOAny) {
        guard let readBIO else { return }
        let bytes = unwrapInboundIn(data)
        _ = bytes.withUnsafeReadableBytes { BIO_write(readBIO, $0.baseAddress, Int32($0.count)) }
        if !handshakeDone {
            handshake(channelContext)
            guard handshakeDone else { return }
        }
        readPlaintext(channelContext)
    }

    public func channelInactive(context channelContext: ChannelHandlerContext) {
        let error = ChannelError.ioOnClosedChannel
        for (_, promise) in pending { promise?.fail(error) }
        pending.removeAll()
        channelContext.fireChannelInactive()
    }

    public func write(context channelContext: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        guard handshakeDone else {
            pending.append((plaintext, promise))
            return
        }
        encrypt(plaintext, promise: promise, channelContext)
    }

    public func close(context channelContext: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .all, !closing, handshakeDone, let ssl else {
            channelContext.close(mode: mode, promise: promise)
            return
        }
        closing = true
        ERR_clear_error()
        _ = SSL_shutdown(ssl)  // queues close_notify
        let notify = drainWriteBIO(channelContext.channel.allocator)
        if let notify {
            let bound = NIOLoopBound(channelContext, eventLoop: channelContext.eventLoop)
            channelContext.writeAndFlush(wrapOutboundOut(notify)).whenComplete { _ in
                bound.value.close(mode: mode, promise: promise)
            }
        } else {
            channelContext.close(mode: mode, promise: promise)
        }
    }

    // MARK: -

    private func handshake(_ channelContext: ChannelHandlerContext) {
        guard let ssl else { return }
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        flushWriteBIO(channelContext)
        if result == 1 {
            handshakeDone = true
            if context.verifiesPeer {
                let verdict = SSL_get_verify_result(ssl)
                guard verdict == COpenSSLShims_X509_V_OK() else {
                    fail(TLSError("certificate verification failed: \(String(cString: X509_verify_cert_error_string(verdict)))"), channelContext)
                    return
                }
            }
            let version = String(cString: SSL_get_version(ssl))
            let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "unknown"
            negotiated = TLSHandshakeCompleted(version: version, cipher: cipher)
            channelContext.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
            let queued = pending
            pending.removeAll()
            for (plaintext, promise) in queued { encrypt(plaintext, promise: promise, channelContext) }
            if !queued.isEmpty { channelContext.flush() }
            return
        }
        let error = SSL_get_error(ssl, result)
        if error == COpenSSLShims_SSL_ERROR_WANT_READ() || error == COpenSSLShims_SSL_ERROR_WANT_WRITE() { return }
        let verdict = SSL_get_verify_result(ssl)
        if context.verifiesPeer && verdict != COpenSSLShims_X509_V_OK() {
            // Name the certificate problem (expired, wrong name, unknown CA), not just the alert.
            ERR_clear_error()
            fail(TLSError("certificate verification failed: \(String(cString: X509_verify_cert_error_string(verdict)))"), channelContext)
            return
        }
        fail(TLSError.drained("TLS handshake failed"), channelContext)
    }

    private func readPlaintext(_ channelContext: ChannelHandlerContext) {
        guard let ssl else { return }
        var produced = false
        while true {
            ERR_clear_error()
            var buffer = channelContext.channel.allocator.buffer(capacity: 16 * 1024)
            var count = 0
            let result = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { pointer in
                let status = SSL_read_ex(ssl, pointer.baseAddress, pointer.count, &count)
                return status == 1 ? count : 0
            }
            flushWriteBIO(channelContext)  // post-handshake messages (tickets, key updates)
            if result > 0 {
                produced = true
                channelContext.fireChannelRead(wrapInboundOut(buffer))
                continue
            }
            let error = SSL_get_error(ssl, 0)
            if error == COpenSSLShims_SSL_ERROR_WANT_READ() || error == COpenSSLShims_SSL_ERROR_WANT_WRITE() { break }
            if error == COpenSSLShims_SSL_ERROR_ZERO_RETURN() {
                // close_notify from the peer: the stream ends cleanly.
                channelContext.close(promise: nil)
                break
            }
            fail(TLSError.drained("TLS read failed"), channelContext)
            break
        }
        if produced { channelContext.fireChannelReadComplete() }
    }

    private func encrypt(_ plaintext: ByteBuffer, promise: EventLoopPromise<Void>?, _ channelContext: ChannelHandlerContext) {
        guard let ssl else {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if plaintext.readableBytes > 0 {
            ERR_clear_error()
            var written = 0
            // With memory BIOs SSL_write never wants to wait: everything goes in at once.
            let status = plaintext.withUnsafeReadableBytes { SSL_write_ex(ssl, $0.baseAddress, $0.count, &written) }
            guard status == 1 else {
                let error = TLSError.drained("TLS write failed")
                promise?.fail(error)
                fail(error, channelContext)
                return
            }
        }
        if let ciphertext = drainWriteBIO(channelContext.channel.allocator) {
            channelContext.write(wrapOutboundOut(ciphertext), promise: promise)
        } else {
            promise?.succeed(())
        }
    }

    private func flushWriteBIO(_ channelContext: ChannelHandlerContext) {
        if let ciphertext = drainWriteBIO(channelContext.channel.allocator) {
            channelContext.writeAndFlush(wrapOutboundOut(ciphertext), promise: nil)
        }
    }

    private func drainWriteBIO(_ allocator: ByteBufferAllocator) -> ByteBuffer? {
        guard let writeBIO else { return nil }
        let pendingBytes = Int(BIO_ctrl_pending(writeBIO))
        guard pendingBytes > 0 else { return nil }
        var buffer = allocator.buffer(capacity: pendingBytes)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: pendingBytes) { pointer in
            Int(max(0, BIO_read(writeBIO, pointer.baseAddress, Int32(pendingBytes))))
        }
        return buffer
    }

    private func fail(_ error: TLSError, _ channelContext: ChannelHandlerContext) {
        channelContext.fireErrorCaught(error)
        closing = true  // no close_notify after a failure
        channelContext.close(promise: nil)
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
