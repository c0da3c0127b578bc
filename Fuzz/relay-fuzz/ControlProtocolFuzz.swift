import Foundation
import Control

/// The control protocol's readers: any line gets a request or an error, and a request that is
/// read reads back the same after the client's encoding.
enum ControlProtocolFuzz {
    static func run(_ bytes: [UInt8]) {
        if case .success(let request) = ControlProtocol.decodeRequest(bytes) {
            let encoded = try! JSONEncoder().encode(request)
            invariant(ControlProtocol.decodeRequest(Array(encoded)) == .success(request), "request does not read back")
        }
        _ = ControlProtocol.decodeResponse(bytes)
    }
}
