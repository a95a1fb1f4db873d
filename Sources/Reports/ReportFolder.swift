import Foundation

/// A problem writing a report, with the path involved.
public struct ReportWriteError: Error, CustomStringConvertible {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }
}

/// Writes a run's report folder so that it is never seen half-written.
///
/// Every file goes into a fresh sibling folder first (`.NAME.partial-PID`); only when all are
/// written and flushed is the old folder moved aside and the new one renamed into place. An
/// interrupted run leaves the previous report intact (plus, at worst, a `.partial` folder that the
/// next run removes).
public struct ReportFolder {
    public let path: URL
    public private(set) var files: [(name: String, contents: Data)] = []

    public init(path: URL) { self.path = path }

    /// Adds a file to write; `name` is relative to the folder and may contain subfolders.
    public mutating func add(_ name: String, _ text: String) {
        files.append((name, Data(text.utf8)))
    }

    public mutating func add(_ name: String, data: Data) {
        files.append((name, data))
    }

    /// Writes every file, then swaps the folder into place.
    public func commit() throws {
        let fm = FileManager.default
        let parent = path.deletingLastPathComponent()
        let name = path.lastPathComponent
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ReportWriteError(path: parent.path, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        // Leftovers of interrupted runs.
        if let siblings = try? fm.contentsOfDirectory(atPath: parent.path) {
            for s in siblings.sorted() where s.hasPrefix(".\(name).partial-") || s.hasPrefix(".\(name).old-") {
                try? fm.removeItem(at: parent.appendingPathComponent(s))
            }
        }
        let pid = ProcessInfo.processInfo.processIdentifier
        let staging = parent.appendingPathComponent(".\(name).partial-\(pid)")
        let old = parent.appendingPathComponent(".\(name).old-\(pid)")
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            for file in files {
                let target = staging.appendingPathComponent(file.name)
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try file.contents.write(to: target, options: .atomic)
            }
        } catch {
            try? fm.removeItem(at: staging)
            throw ReportWriteError(path: staging.path, reason: "cannot write the report (\(error.localizedDescription))")
        }
        var movedAside = false
        if fm.fileExists(atPath: path.path) {
            do {
                try fm.moveItem(at: path, to: old)
                movedAside = true
            } catch {
                try? fm.removeItem(at: staging)
                throw ReportWriteError(path: path.path, reason: "cannot replace the previous report (\(error.localizedDescription))")
            }
        }
        do {
            try fm.moveItem(at: staging, to: path)
        } catch {
            if movedAside { try? fm.moveItem(at: old, to: path) }
            try? fm.removeItem(at: staging)
            throw ReportWriteError(path: path.path, reason: "cannot move the report into place (\(error.localizedDescription))")
        }
        if movedAside { try? fm.removeItem(at: old) }
    }
}
