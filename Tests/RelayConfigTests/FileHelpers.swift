#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct FileWriteError: Error {}

/// Writes `text` to `path`, optionally replacing a byte sequence (to make invalid UTF-8).
func writeFile(_ path: String, _ text: String, replacing old: [UInt8] = [], with new: [UInt8] = []) throws {
    var bytes = Array(text.utf8)
    if !old.isEmpty, let start = bytes.indices.first(where: { bytes[$0...].starts(with: old) }) {
        bytes.replaceSubrange(start..<start + old.count, with: new)
    }
    guard let file = fopen(path, "wb") else { throw FileWriteError() }
    defer { fclose(file) }
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw FileWriteError() }
}

func removeFile(_ path: String) {
    unlink(path)
}
