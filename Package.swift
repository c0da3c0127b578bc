// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Relay",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "relayd", targets: ["relayd"]),
        .executable(name: "relayctl", targets: ["relayctl"]),
        .library(name: "SMTPCore", targets: ["SMTPCore"]),
        .library(name: "SMTPServer", targets: ["SMTPServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // Pure protocol: no I/O, imports NIOCore only.
        .target(
            name: "SMTPCore",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "SMTPServer",
            dependencies: [
                "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SMTPClient",
            dependencies: [
                "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Spool",
            dependencies: [
                "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RelayConfig",
            dependencies: [
                "SMTPCore",
                .product(name: "TOMLKit", package: "TOMLKit"),
            ]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(
            name: "RelayTLS",
            dependencies: [
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .systemLibrary(
            name: "CAres",
            pkgConfig: "libcares",
            providers: [.apt(["libc-ares-dev"])]
        ),
        .target(
            name: "RelayDNS",
            dependencies: ["CAres", "CRelayShims"]
        ),
        .target(
            name: "DeliveryCore",
            dependencies: ["SMTPCore"]
        ),
        .target(
            name: "RelayLog",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(name: "CRelayShims", linkerSettings: [.linkedLibrary("crypt")]),
        .target(
            name: "RelayMetrics",
            dependencies: [
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "Control",
            dependencies: ["CRelayShims", .product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "Delivery",
            dependencies: [
                "DeliveryCore", "SMTPClient", "RelayDNS", "Spool", "RelayConfig", "Control", "RelayTLS", "RelayMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "Listener",
            dependencies: [
                "SMTPServer", "Spool", "RelayConfig", "Control", "RelayDNS", "RelayTLS", "CRelayShims", "RelayMetrics",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "relayd",
            dependencies: [
                "Listener", "Delivery", "RelayConfig", "RelayLog", "CRelayShims", "RelayMetrics", "Control", "RelayTLS",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "relayctl",
            dependencies: [
                "Spool", "RelayConfig", "Control", "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SMTPCoreTests", dependencies: ["SMTPCore"]),
        .testTarget(
            name: "SMTPServerTests",
            dependencies: [
                "SMTPServer", "SMTPCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "RelayConfigTests", dependencies: ["RelayConfig"]),
        .testTarget(name: "ListenerTests", dependencies: ["Listener"]),
        .testTarget(name: "DeliveryCoreTests", dependencies: ["DeliveryCore", "SMTPCore"]),
        .testTarget(name: "RelayDNSTests", dependencies: ["RelayDNS"]),
        .testTarget(
            name: "SpoolTests",
            dependencies: ["Spool", "SMTPCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "NIOCore", package: "swift-nio")]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// The libFuzzer targets (Fuzz/, `make fuzz`): only with RELAY_FUZZ set, for they link no `main`
// of their own and build only with `--sanitize fuzzer`.
if Context.environment["RELAY_FUZZ"] != nil {
    package.products.append(.executable(name: "relay-fuzz", targets: ["relay-fuzz"]))
    package.targets.append(
        .executableTarget(
            name: "relay-fuzz",
            dependencies: ["SMTPCore", "RelayDNS", "RelayConfig", "Control", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/relay-fuzz"))
}
