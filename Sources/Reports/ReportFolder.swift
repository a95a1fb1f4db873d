import Foundation

/// A problem writing an output, with the path involved.
public struct ReportWriteError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var reason: String
    public var description: String { "\(path): \(reason)" }

    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
}

/// A folder vodsim writes whole (a run's report, a title's manifests), never seen half-written and
/// never put where something of the user's is.
///
/// Every file goes into a fresh sibling folder first (`.NAME.partial-HOST-PID`); only when all are
/// written and flushed is the old folder moved aside and the new one renamed into place. An
/// interrupted run leaves the previous folder intact (plus, at worst, a staging folder that the
/// next run on this host removes once its process is gone).
///
/// The folder carries a marker, `.vodsim-report`, listing the files vodsim wrote into it. A
/// folder may only replace: nothing, an empty folder, or a folder whose marker lists everything in
/// it (or, for folders written before the marker existed, one holding only a report's own files).
/// Anything else is refused with the path, before a run starts (``check(_:)``) and again when it
/// ends, because a user may have put a file there meanwhile.
public struct ReportFolder {
    public let path: URL
    public private(set) var files: [(name: String, contents: Data)] = []

    /// The marker's name and its first line.
    public static let markerName = ".vodsim-report"
    static let markerHeading = "vodsim output folder: these files were written by vodsim and are replaced whole by its next run"

    public init(path: URL) { self.path = path }

    /// Adds a file to write; `name` is relative to the folder and may contain subfolders.
    public mutating func add(_ name: String, _ text: String) {
        files.append((name, Data(text.utf8)))
    }

    public mutating func add(_ name: String, data: Data) {
        files.append((name, data))
    }

    // MARK: Checks

    /// Whether a report folder may be written at `path`: see the type's comment.
    /// - Throws: ``ReportWriteError`` naming the path and why not.
    public static func check(_ path: URL) throws(ReportWriteError) {
        let text = path.relativePath.isEmpty ? "''" : path.relativePath
        let absolute = path.standardizedFileURL.path
        let here = FileManager.default.currentDirectoryPath
        guard !path.lastPathComponent.isEmpty, absolute != "/",
              here != absolute, !here.hasPrefix(absolute.hasSuffix("/") ? absolute : absolute + "/") else {
            throw ReportWriteError(path: text, reason: "is the current folder or holds it; a report folder is replaced whole, so name a folder of its own, e.g. Reports/run-1")
        }
        let kind = PathKind(absolute)
        switch kind {
        case .missing:
            try OutputPath.checkWritableFolder(path.deletingLastPathComponent().path, for: text, create: true)
        case .folder:
            if let stranger = foreignEntry(in: path) {
                throw ReportWriteError(path: text, reason: "holds \(stranger), which vodsim did not write; vodsim replaces only a folder it wrote (one with its \(markerName) marker). Choose another folder, or move what is yours out of it")
            }
            try OutputPath.checkWritableFolder(path.deletingLastPathComponent().path, for: text, create: false)
        default:
            throw ReportWriteError(path: text, reason: "is \(kind.phrase), not a folder; a report is a folder, and vodsim replaces only a folder it wrote")
        }
    }

    /// The first entry of `folder` (relative path) that vodsim did not write, if any.
    static func foreignEntry(in folder: URL) -> String? {
        let entries = listing(folder)
        guard !entries.isEmpty else { return nil }
        let marker = folder.appendingPathComponent(markerName)
        let written: Set<String>
        if let data = FileManager.default.contents(atPath: marker.path) {
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
            guard lines.first == markerHeading else { return markerName + " (not a vodsim marker)" }
            written = Set(lines.dropFirst() + [markerName])
        } else if isEarlierReport(folder, entries: entries) {
            return nil
        } else {
            return entries.first { !$0.hasSuffix("/") } ?? entries[0]
        }
        for entry in entries {
            if entry.hasSuffix("/") {
                // A folder is vodsim's when some file it wrote lies below it.
                guard written.contains(where: { $0.hasPrefix(entry) }) else { return entry }
            } else if !written.contains(entry) {
                return entry
            }
        }
        return nil
    }

    /// Every entry below `folder`, relative, folders with a trailing `/`, sorted; symbolic links
    /// are listed, not followed.
    static func listing(_ folder: URL) -> [String] {
        var out: [String] = []
        func walk(_ url: URL, _ prefix: String) {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: url.path) else { return }
            for name in names.sorted() {
                let child = url.appendingPathComponent(name)
                if PathKind(child.path) == .folder {
                    out.append(prefix + name + "/")
                    walk(child, prefix + name + "/")
                } else {
                    out.append(prefix + name)
                }
            }
        }
        walk(folder, "")
        return out
    }

    /// A report folder written before the marker: only a report's own files, and a report.json
    /// that says it is a vodsim report.
    static func isEarlierReport(_ folder: URL, entries: [String]) -> Bool {
        let own: Set<String> = ["report.json", "summary.md", "report.html", "timeseries.csv", "datasets/"]
        guard entries.allSatisfy({ own.contains($0) || $0.hasPrefix("datasets/") }),
              let data = FileManager.default.contents(atPath: folder.appendingPathComponent("report.json").path) else { return false }
        let head = String(decoding: data.prefix(200), as: UTF8.self)
        return head.contains("\"schemaVersion\"") && head.contains("\"vodsim\"")
    }

    // MARK: Writing

    /// Writes every file, then swaps the folder into place.
    public func commit() throws(ReportWriteError) {
        let staged = try stage()
        try staged.swap()
        staged.finish()
    }

    /// Writes every file into the staging folder; nothing at `path` changes yet.
    public func stage() throws(ReportWriteError) -> StagedFolder {
        try ReportFolder.check(path)
        let fm = FileManager.default
        let parent = path.deletingLastPathComponent()
        do {
            try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        } catch {
            throw ReportWriteError(path: parent.path, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        Staging.removeStale(beside: path)
        let staging = Staging.path(for: path, kind: "partial")
        Staging.shared.register(staging.path)
        do {
            try? fm.removeItem(at: staging)
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            var names = Set<String>()
            for file in files {
                let target = staging.appendingPathComponent(file.name)
                try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
                try file.contents.write(to: target, options: .atomic)
                names.insert(file.name)
            }
            let marker = ([ReportFolder.markerHeading] + names.sorted()).joined(separator: "\n") + "\n"
            try Data(marker.utf8).write(to: staging.appendingPathComponent(ReportFolder.markerName), options: .atomic)
        } catch {
            try? fm.removeItem(at: staging)
            Staging.shared.unregister(staging.path)
            throw ReportWriteError(path: staging.path, reason: "cannot write the report (\(error.localizedDescription))")
        }
        return StagedFolder(path: path, staging: staging)
    }
}

/// A report folder written in full beside its place: ``swap()`` puts it in place (keeping the
/// previous one aside), then ``finish()`` drops the previous one or ``rollback()`` restores it.
public final class StagedFolder {
    public let path: URL
    let staging: URL
    let old: URL
    var movedAside = false
    var swapped = false

    init(path: URL, staging: URL) {
        self.path = path
        self.staging = staging
        old = Staging.path(for: path, kind: "old")
    }

    /// Moves the previous folder aside and the new one into place. Checked again first: a file
    /// the user put into the folder while the run went on is not deleted.
    public func swap() throws(ReportWriteError) {
        let fm = FileManager.default
        do {
            try ReportFolder.check(path)
        } catch {
            discard()
            throw error
        }
        let result: ReportWriteError? = Staging.shared.critical {
            if PathKind(path.path) != .missing {
                do {
                    try fm.moveItem(at: path, to: old)
                    movedAside = true
                } catch {
                    return ReportWriteError(path: path.path, reason: "cannot replace the previous report (\(error.localizedDescription))")
                }
            }
            do {
                try fm.moveItem(at: staging, to: path)
            } catch {
                if movedAside { try? fm.moveItem(at: old, to: path) }
                movedAside = false
                return ReportWriteError(path: path.path, reason: "cannot move the report into place (\(error.localizedDescription))")
            }
            swapped = true
            return nil
        }
        if let result {
            discard()
            throw result
        }
        Staging.shared.unregister(staging.path)
    }

    /// Drops the previous folder: the new one stays.
    public func finish() {
        if movedAside { try? FileManager.default.removeItem(at: old) }
        movedAside = false
    }

    /// Puts the previous folder back (or removes the new one when there was none).
    public func rollback() {
        let fm = FileManager.default
        Staging.shared.critical {
            if swapped {
                try? fm.removeItem(at: path)
                if movedAside { try? fm.moveItem(at: old, to: path) }
            }
            swapped = false
            movedAside = false
        }
        discard()
    }

    /// Removes the staging folder if it is still there.
    public func discard() {
        try? FileManager.default.removeItem(at: staging)
        Staging.shared.unregister(staging.path)
    }
}
