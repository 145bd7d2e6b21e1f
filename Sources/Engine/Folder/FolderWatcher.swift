import Foundation

#if !os(Linux)
#error("mrl runs on Linux only: it uses inotify, epoll, SO_PEERCRED and systemd socket activation")
#endif

/// Waits for files under some folders to change, with inotify: every folder (but those the
/// rules skip) is watched for files created, written, moved and deleted.
public final class FolderWatcher {
    private let fd: Int32
    private let roots: [String]
    private let rules: IgnoreRules

    /// Throws `unreadable` when inotify is unavailable (e.g. the watch limit is reached).
    public init(roots: [String], rules: IgnoreRules) throws {
        fd = inotify_init1(Int32(IN_CLOEXEC))
        guard fd >= 0 else { throw EngineError.unreadable(path: roots.joined(separator: ", "), reason: "inotify: \(String(cString: strerror(errno)))") }
        self.roots = roots.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        self.rules = rules
        try watchFolders()
    }

    deinit { close(fd) }

    /// Watches every folder under the roots (again: new folders join; old ones are kept).
    /// Returns the folders that vanished between the walk and their watch: the rest are
    /// watched all the same.
    @discardableResult
    public func watchFolders() throws -> [String] {
        var vanished: [String] = []
        let mask = UInt32(IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE | IN_ATTRIB)
        for root in roots {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) else { continue }
            let folder = isDirectory.boolValue ? root : (root as NSString).deletingLastPathComponent
            var folders = [folder]
            if isDirectory.boolValue, let walker = FileManager.default.enumerator(atPath: root) {
                let rules = rules.adding(ignoreFileOf: root)
                while let relative = walker.nextObject() as? String {
                    guard (walker.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory else { continue }
                    if rules.skips(relative, isDirectory: true) {
                        walker.skipDescendants()
                    } else {
                        folders.append(root + "/" + relative)
                    }
                }
            }
            for folder in folders where inotify_add_watch(fd, folder, mask) < 0 {
                if errno == ENOENT || errno == ENOTDIR {
                    vanished.append(folder)
                    continue
                }
                throw EngineError.unreadable(path: folder, reason: "cannot watch it: \(String(cString: strerror(errno))) (see fs.inotify.max_user_watches)")
            }
        }
        return vanished
    }

    /// Blocks until something changes, then until nothing more has for `quiet` seconds (an
    /// editor's save or a `git checkout` comes as a burst).
    public func waitForChanges(quiet: TimeInterval = 0.5) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var timeout: Int32 = -1
        while true {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, timeout)
            if ready < 0, errno == EINTR { continue }
            if ready <= 0 { return }  // quiet for long enough
            _ = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            timeout = Int32(quiet * 1000)
        }
    }
}
