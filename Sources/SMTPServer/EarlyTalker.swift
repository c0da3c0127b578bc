import NIOCore

/// Whether the client has sent anything yet, from the kernel's count of bytes received
/// (TCP_INFO), as Postfix and Exim look for input waiting when the greeting is due. A client
/// that talks first is caught when its data is in by then; one that starts a moment later is
/// not (that would need a pause before every greeting).
func clientHasSentData(_ channel: any Channel) -> Bool {
    #if os(Linux)
    guard let provider = channel as? SocketOptionProvider else { return false }
    var received = false
    // On the channel's own event loop the option is read at once: the future is complete.
    // IPPROTO_TCP (6) and TCP_INFO (11), Linux's values.
    provider.unsafeGetSocketOption(level: SocketOptionLevel(6), name: SocketOptionName(11))
        .assumeIsolated()
        .whenSuccess { (info: LinuxTCPInfoPrefix) in received = info.16 > 0 }
    return received
    #else
    return false
    #endif
}

/// The start of Linux's `struct tcp_info` as 64-bit words, up to `tcpi_bytes_received`
/// (word 16, offset 128; Linux 4.1 and later, and the struct only ever grows). Glibc's copy of
/// the struct stops before that field. Older kernels fill less, and NIO zeroes the rest.
typealias LinuxTCPInfoPrefix = (
    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
    UInt64, UInt64, UInt64
)
