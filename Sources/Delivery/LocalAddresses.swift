#if canImport(Glibc)
import Glibc
#endif
import RelayConfig

/// The addresses of this host's interfaces (getifaddrs(3)): what a wildcard listener receives
/// on, so an MX host at one of them is this relay.
enum LocalAddresses {
    static func current() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var addresses: [IPAddress] = []
        for entry in sequence(first: first, next: { $0.pointee.ifa_next }) {
            guard let address = entry.pointee.ifa_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { v4 in
                    withUnsafeBytes(of: v4.pointee.sin_addr) { addresses.append(IPAddress(bytes: Array($0))!) }
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { v6 in
                    withUnsafeBytes(of: v6.pointee.sin6_addr) { addresses.append(IPAddress(bytes: Array($0))!) }
                }
            default:
                continue
            }
        }
        return addresses
    }
}
