#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// What is at a path, as `lstat(2)` says (a symbolic link is not followed).
public enum PathKind: Equatable, Sendable {
    case missing, regularFile, folder, symbolicLink, fifo, characterDevice, blockDevice, socket

    public init(_ path: String) {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            self = .missing
            return
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: self = .regularFile
        case S_IFDIR: self = .folder
        case S_IFLNK: self = .symbolicLink
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .socket
        }
    }

    /// "a FIFO (named pipe)", for messages.
    public var phrase: String {
        switch self {
        case .missing: "nothing"
        case .regularFile: "a file"
        case .folder: "a folder"
        case .symbolicLink: "a symbolic link"
        case .fifo: "a FIFO (named pipe)"
        case .characterDevice: "a character device"
        case .blockDevice: "a block device"
        case .socket: "a socket"
        }
    }
}

/// Checks of output paths, made before a run simulates anything, so that a path that cannot be
/// written fails at once rather than after the simulation.
public enum OutputPath {
    /// Checks that a file can be created at `path` by writing a temporary file beside it and
    /// renaming it over `path`: the folder exists and is writable, and `path` is absent or a
    /// regular file. When it exists, `recognise` must accept its first bytes (up to 4 KiB): a file
    /// is replaced only when vodsim wrote it. `role` names the option in messages (`--export-requests`);
    /// with `createFolder`, a missing folder is fine if it can be created.
    public static func checkFile(_ path: String, role: String, createFolder: Bool = false,
                                 recognise: (Data) -> Bool) throws(ReportWriteError) {
        guard !path.isEmpty else { throw ReportWriteError(path: "''", reason: "\(role) needs a file name, got an empty path") }
        let kind = PathKind(path)
        switch kind {
        case .missing:
            break
        case .regularFile:
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ReportWriteError(path: path, reason: "exists and cannot be read, so vodsim cannot tell whether it wrote it; choose another \(role) file")
            }
            let head = (try? handle.read(upToCount: 4_096)) ?? Data()
            try? handle.close()
            guard recognise(head) else {
                throw ReportWriteError(path: path, reason: "exists and is not a file vodsim wrote for \(role); it is left as it is: remove it yourself or choose another name")
            }
        default:
            throw ReportWriteError(path: path, reason: "is \(kind.phrase), not a regular file; \(role) writes a regular file (a temporary one beside it, renamed into place when the run succeeds)")
        }
        try checkWritableFolder((path as NSString).deletingLastPathComponent, for: path, create: createFolder)
    }

    /// Checks that the folder `folder` (which will hold `target`) exists, or, with `create`, that
    /// its nearest existing ancestor is a folder vodsim may write into.
    public static func checkWritableFolder(_ folder: String, for target: String, create: Bool) throws(ReportWriteError) {
        var current = folder.isEmpty ? "." : folder
        while true {
            let kind = PathKind(current)
            if kind == .folder || (kind == .symbolicLink && isFolderFollowingLinks(current)) {
                // A real write, not only access(2): root passes access checks on read-only mounts.
                let probe = URL(fileURLWithPath: current).appendingPathComponent(".vodsim-probe-\(Staging.owner)").path
                guard access(current, W_OK | X_OK) == 0, mkdir(probe, 0o700) == 0 || errno == EEXIST else {
                    throw ReportWriteError(path: target, reason: "cannot be written: the folder \(current) is not writable (\(String(cString: strerror(errno))))")
                }
                rmdir(probe)
                return
            }
            guard kind == .missing else {
                throw ReportWriteError(path: target, reason: "cannot be written: \(current) is \(kind.phrase), not a folder")
            }
            guard create else {
                throw ReportWriteError(path: target, reason: "cannot be written: the folder \(current) does not exist")
            }
            let parent = URL(fileURLWithPath: current).deletingLastPathComponent().path
            if parent == current { return }
            current = parent
        }
    }

    static func isFolderFollowingLinks(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

/// Temporary files and folders a run writes beside its outputs (`.NAME.partial-HOST-PID`), and
/// their removal: on failure, on a signal (``cleanUp()``), and when a later run finds the
/// leftovers of a process that died on this host. Another live process's staging paths, and those
/// of another host sharing the folder, are never touched.
public final class Staging: @unchecked Sendable {
    public static let shared = Staging()

    /// Recursive: registrations change inside ``critical(_:)``.
    private let lock = NSRecursiveLock()
    private var paths: [String] = []

    /// This process's tag in staging names: host and process id.
    public static let owner: String = {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count) == 0 ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "host"
        let safe = String(host.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" })
        return "\(safe)-\(getpid())"
    }()

    /// The staging path of kind `kind` (`partial`, `old`) for `path`, in the same folder.
    public static func path(for path: URL, kind: String) -> URL {
        path.deletingLastPathComponent().appendingPathComponent(".\(path.lastPathComponent).\(kind)-\(owner)")
    }

    /// Removes (or, for a moved-aside previous report whose place is empty, restores) what dead
    /// processes of this host left beside `path`.
    public static func removeStale(beside path: URL) {
        let parent = path.deletingLastPathComponent()
        let name = path.lastPathComponent
        guard let siblings = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        var host = Staging.owner
        host.removeSubrange(host.lastIndex(of: "-")!...)
        for sibling in siblings.sorted() {
            for kind in ["partial", "old"] {
                let prefix = ".\(name).\(kind)-\(host)-"
                guard sibling.hasPrefix(prefix), let pid = Int32(sibling.dropFirst(prefix.count)), !isAlive(pid) else { continue }
                let stale = parent.appendingPathComponent(sibling)
                if kind == "old" && PathKind(path.path) == .missing {
                    try? FileManager.default.moveItem(at: stale, to: path)  // the previous report, put back
                } else {
                    try? FileManager.default.removeItem(at: stale)
                }
            }
        }
    }

    static func isAlive(_ pid: Int32) -> Bool {
        pid == getpid() || kill(pid, 0) == 0 || errno == EPERM
    }

    /// Notes a staging path to remove if the process is interrupted.
    public func register(_ path: String) {
        lock.lock()
        paths.append(path)
        lock.unlock()
    }

    public func unregister(_ path: String) {
        lock.lock()
        paths.removeAll { $0 == path }
        lock.unlock()
    }

    /// Runs `body` (a few renames that must not be cut in half) with cleanup held off.
    public func critical<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Removes every registered staging path and keeps the lock: for a process about to exit on
    /// a signal, so that no rename starts after it.
    public func cleanUpForExit() {
        lock.lock()
        for path in paths.reversed() { try? FileManager.default.removeItem(atPath: path) }
        paths.removeAll()
    }
}
