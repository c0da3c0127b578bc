import Foundation
import NIOCore

/// The text of a received message, ready for commit: in memory when small, else in a spill
/// file that the commit reads back in chunks (so a 50 MB message never sits in memory).
public enum MessageBody: Sendable {
    case memory(ByteBuffer)
    /// `descriptor` is the spill file, open and locked (flock) until `discard()`: the lock tells
    /// another listener starting on this spool that the file is alive (see `SpillFiles`).
    case file(path: String, size: Int, descriptor: Int32)

    public var size: Int {
        switch self {
        case .memory(let buffer): buffer.readableBytes
        case .file(_, let size, _): size
        }
    }

    /// Deletes the spill file, if any, then lets go of its lock. Called once the commit has
    /// finished either way.
    public func discard() {
        if case .file(let path, _, let descriptor) = self {
            unlink(path)
            close(descriptor)
        }
    }
}

/// Collects message text as it arrives, with bounded memory: past `memoryLimit` octets the
/// text goes to a spill file under the spool's `incoming/` folder. The spill file needs no
/// fsync: its bytes are copied into the fsynced SQLite commit, and after a crash the folder
/// is emptied at start-up (none of it was acknowledged).
///
/// Owned by one session on one event loop; not thread-safe.
public final class MessageBodyBuffer {
    /// How much text stays in memory before spilling.
    public static let defaultMemoryLimit = 256 * 1024

    private let spillPath: String
    private let memoryLimit: Int
    private var memory: ByteBuffer
    private var fileDescriptor: Int32 = -1
    private var fileSize = 0
    /// Set once writing failed; the commit is then refused with the reason.
    public private(set) var failure: SpoolError?

    init(spillPath: String, memoryLimit: Int, allocator: ByteBufferAllocator) {
        self.spillPath = spillPath
        self.memoryLimit = memoryLimit
        self.memory = allocator.buffer(capacity: 0)
    }

    deinit {
        if fileDescriptor >= 0 {
            unlink(spillPath)
            close(fileDescriptor)
        }
    }

    /// Octets collected so far.
    public var size: Int { fileSize + memory.readableBytes }

    /// Appends text; after a failure further text is dropped.
    public func append(_ bytes: ByteBuffer) {
        guard failure == nil else { return }
        var bytes = bytes
        if fileDescriptor < 0 && memory.readableBytes + bytes.readableBytes <= memoryLimit {
            memory.writeBuffer(&bytes)
            return
        }
        if fileDescriptor < 0 {
            fileDescriptor = SpillFiles.create(spillPath)
            guard fileDescriptor >= 0 else {
                failure = .body("cannot create \(spillPath): \(String(cString: strerror(errno)))")
                return
            }
            writeToFile(&memory)
            memory.clear()
        }
        writeToFile(&bytes)
    }

    /// Writes to the page cache; the bounded sizes keep this short enough for an event loop.
    private func writeToFile(_ bytes: inout ByteBuffer) {
        while bytes.readableBytes > 0 && failure == nil {
            let written = bytes.withUnsafeReadableBytes { write(fileDescriptor, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                failure = .body("cannot write \(spillPath): \(String(cString: strerror(errno)))")
                return
            }
            bytes.moveReaderIndex(forwardBy: written)
            fileSize += written
        }
    }

    /// Hands the text over for commit; the buffer must not be used afterwards.
    /// - Throws: `SpoolError` if buffering had failed.
    public func finish() throws(SpoolError) -> MessageBody {
        if let failure { throw failure }
        guard fileDescriptor >= 0 else { return .memory(memory) }
        defer { fileDescriptor = -1 }
        return .file(path: spillPath, size: fileSize, descriptor: fileDescriptor)
    }
}
