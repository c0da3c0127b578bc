#if canImport(Glibc)
import Glibc
#endif

/// libFuzzer's entry point (built only by `make fuzz`: `swift build --sanitize fuzzer`, which
/// links libFuzzer's own `main`). One binary holds every target so that the sanitized modules
/// are built and linked once; `RELAY_FUZZ_TARGET` picks the one to run.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    selectedTarget.run(bytes)
    return 0
}

/// The targets, by the name `RELAY_FUZZ_TARGET` gives (and the corpus directory's name).
enum FuzzTarget: String, CaseIterable, Sendable {
    case session, data, reply, dns, proxy, config, control

    func run(_ bytes: [UInt8]) {
        switch self {
        case .session: SessionFuzz.run(bytes)
        case .data: DataDecoderFuzz.run(bytes)
        case .reply: ReplyDecoderFuzz.run(bytes)
        case .dns: DNSMessageFuzz.run(bytes)
        case .proxy: ProxyHeaderFuzz.run(bytes)
        case .config: ConfigurationFuzz.run(bytes)
        case .control: ControlProtocolFuzz.run(bytes)
        }
    }
}

let selectedTarget: FuzzTarget = {
    let name = getenv("RELAY_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        report("relay-fuzz: set RELAY_FUZZ_TARGET to one of: \(names)")
        exit(64)
    }
    return target
}()

/// A finding: the fuzzer reports the input that broke an invariant, as it does a crash.
func invariant(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() {
        report("invariant broken: \(message())")
        abort()
    }
}

/// Chunk lengths (1 to 8 octets) taken from the input itself, so that feeding it in pieces is
/// part of what the fuzzer varies: every decoder must read split input as it reads it whole.
func pieces(of bytes: ArraySlice<UInt8>, seed: UInt8) -> [ArraySlice<UInt8>] {
    var result: [ArraySlice<UInt8>] = []
    var index = bytes.startIndex
    var step = Int(seed)
    while index < bytes.endIndex {
        step = (step &* 31 &+ 7) & 0xFF
        let end = min(bytes.endIndex, index + 1 + step % 8)
        result.append(bytes[index..<end])
        index = end
    }
    return result
}

/// One line on standard error (unbuffered: the process may abort next).
func report(_ line: String) {
    let text = Array((line + "\n").utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}
