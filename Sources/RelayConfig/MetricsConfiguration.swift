/// The Prometheus endpoint (`[metrics]`).
public struct MetricsConfiguration: Sendable, Equatable {
    /// `address`: where to serve `/metrics`, e.g. `"127.0.0.1:9425"`; `nil` (`""`, the
    /// default) serves nothing.
    public var address: ListenAddress?

    /// Creates a metrics configuration.
    /// - Parameter address: Default `nil`: no endpoint.
    public init(address: ListenAddress? = nil) {
        self.address = address
    }
}
