#if canImport(Glibc)
import Glibc
#endif
import RelayConfig

/// The `relayd.conf` loader as the daemon runs it: TOMLKit's parser first in a child (its C++
/// asserts abort on some malformed texts, which is why the daemon parses there first: see
/// `TOMLParseIsolation`), then, for texts the child survived, the whole loader in-process.
/// A valid configuration must survive its own `effectiveTOML()` (what `check-config -v` prints).
enum ConfigurationFuzz {
    static func run(_ bytes: [UInt8]) {
        guard let text = String(validating: bytes, as: UTF8.self) else { return }
        guard survivesInChild(text) else { return }
        let problems = RelayConfiguration.problems(in: text, source: "fuzz.conf")
        let lines = text.utf8.count(where: { $0 == UInt8(ascii: "\n") }) + 1
        for problem in problems {
            invariant(problem.line.map { (1...lines).contains($0) } ?? true, "line \(String(describing: problem.line)) of \(lines)")
        }
        guard problems.isEmpty, let configuration = try? RelayConfiguration.parse(text, source: "fuzz.conf") else { return }
        let effective = configuration.effectiveTOML()
        guard survivesInChild(effective) else {
            invariant(false, "effectiveTOML() aborts the parser:\n\(effective)")
            return
        }
        do {
            let again = try RelayConfiguration.parse(effective, source: "effective.conf")
            invariant(again == configuration, "effectiveTOML() reads back as another configuration:\n\(effective)")
        } catch {
            invariant(false, "effectiveTOML() does not read back: \(error)\n\(effective)")
        }
    }

    /// Whether TOMLKit parses `text` without aborting, tried in a forked child that parses
    /// text after text (one fork per input would cost most of the run) until one kills it.
    static func survivesInChild(_ text: String) -> Bool {
        if probe == nil { probe = ParserProbe() }
        if probe!.parses(text) { return true }
        probe = nil
        return false
    }

    nonisolated(unsafe) static var probe: ParserProbe?
}

/// A forked child reading length-prefixed texts from a pipe, answering one octet per text it
/// parsed; end of file on the answer pipe means the last text aborted it.
final class ParserProbe {
    let pid: pid_t
    let requests: Int32
    let answers: Int32

    init() {
        var toChild: [Int32] = [0, 0]
        var toParent: [Int32] = [0, 0]
        guard pipe(&toChild) == 0, pipe(&toParent) == 0 else { fatalError("pipe: \(errno)") }
        let child = fork()
        if child == 0 {
            // The child's death is expected: not libFuzzer's crash report, nor a crash file
            // holding the parent's current input.
            for signal in [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE] { Glibc.signal(signal, SIG_DFL) }
            sanitizerSetDeathCallback(nil)
            close(toChild[1])
            close(toParent[0])
            while let text = Self.readText(toChild[0]) {
                RelayConfiguration.parseTOMLOnly(text)
                var done: UInt8 = 1
                guard write(toParent[1], &done, 1) == 1 else { break }
            }
            _exit(0)
        }
        guard child > 0 else { fatalError("fork: \(errno)") }
        close(toChild[0])
        close(toParent[1])
        pid = child
        requests = toChild[1]
        answers = toParent[0]
    }

    deinit {
        close(requests)
        close(answers)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    }

    func parses(_ text: String) -> Bool {
        var length = UInt32(text.utf8.count)
        guard Self.writeAll(requests, withUnsafeBytes(of: &length) { Array($0) } + Array(text.utf8)) else { return false }
        var answer: UInt8 = 0
        while true {
            let count = read(answers, &answer, 1)
            if count == 1 { return true }
            if count < 0 && errno == EINTR { continue }
            return false
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            offset += count
        }
        return true
    }

    static func readText(_ fd: Int32) -> String? {
        guard let header = readExactly(fd, 4) else { return nil }
        let length = header.withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        guard let body = readExactly(fd, Int(length)) else { return nil }
        return String(decoding: body, as: UTF8.self)
    }

    static func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let got = bytes[offset...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { return nil }
            offset += got
        }
        return bytes
    }
}

@_silgen_name("__sanitizer_set_death_callback")
func sanitizerSetDeathCallback(_ callback: (@convention(c) () -> Void)?)
