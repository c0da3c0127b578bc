import Foundation

/// Spill files (`incoming/<queue id>`) carry an exclusive flock(2) for as long as their
/// process may still commit them, so a listener starting on the same spool — the new one of a
/// reload, or one started while an orphan still serves — removes only what a dead process
/// left (issue 13, hole 7), never a file a live session is writing.
enum SpillFiles {
    /// Creates `path` (0600) and locks it. - Returns: the descriptor, or -1 with `errno` set.
    static func create(_ path: String) -> Int32 {
        // A starting listener may remove the file between open and flock (it found it
        // unlocked): then the descriptor names an unlinked inode, and the file is made again.
        for _ in 0..<3 {
            let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { return -1 }
            var locked = flock(descriptor, LOCK_EX)
            while locked != 0 && errno == EINTR { locked = flock(descriptor, LOCK_EX) }
            guard locked == 0 else {
                let saved = errno
                close(descriptor)
                errno = saved
                return -1
            }
            var opened = stat()
            var named = stat()
            if fstat(descriptor, &opened) == 0, stat(path, &named) == 0, opened.st_ino == named.st_ino,
                opened.st_dev == named.st_dev
            {
                return descriptor
            }
            close(descriptor)
        }
        errno = EAGAIN
        return -1
    }

    /// Removes the files in `directory` that no live process holds locked.
    static func removeAbandoned(in directory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            let path = directory + "/" + name
            let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard descriptor >= 0 else {
                unlink(path)  // not a regular readable file: not one of ours
                continue
            }
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { unlink(path) }
            close(descriptor)
        }
    }
}
