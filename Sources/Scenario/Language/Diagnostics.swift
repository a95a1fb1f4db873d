/// Where a scenario problem is.
public enum SourceLocation: Sendable, Equatable, CustomStringConvertible {
    /// A position in a file (line and column from 1).
    case file(String, line: Int, column: Int)
    /// A file as a whole (it is missing, empty, unreadable).
    case wholeFile(String)
    /// A command-line override, e.g. `--set pops[0].egress=-4 Gbps`.
    case override(String)

    public var description: String {
        switch self {
        case let .file(path, line, column): "\(path):\(line):\(column)"
        case let .wholeFile(path): path
        case let .override(text): "--set \(text)"
        }
    }
}

/// One mistake in a scenario: where, which key, and what was expected instead of what was found.
public struct ScenarioProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    /// The key path, e.g. `pops[2].egress`; empty for problems with the file itself.
    public var path: String
    public var message: String

    public init(_ location: SourceLocation, _ path: String, _ message: String) {
        self.location = location
        self.path = path
        self.message = message
    }

    /// `FILE:LINE:COL: KEY.PATH: MESSAGE`, one line.
    public var description: String {
        path.isEmpty ? "\(location): \(message)" : "\(location): \(path): \(message)"
    }
}

/// Every problem found in a scenario, in the order of the file.
public struct ScenarioErrors: Error, Sendable, CustomStringConvertible {
    public var problems: [ScenarioProblem]
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}

/// A key path into a scenario: `pops[2].egress`.
public struct KeyPath: Sendable, Equatable, CustomStringConvertible {
    public enum Component: Sendable, Equatable {
        case key(String)
        case index(Int)
        /// A list element named by its id: `pops[nyc-1]`.
        case id(String)
    }

    public var components: [Component] = []

    public init(_ components: [Component] = []) { self.components = components }

    func appending(_ c: Component) -> KeyPath { KeyPath(components + [c]) }
    func appending(_ key: String) -> KeyPath { appending(.key(key)) }
    func appending(index: Int) -> KeyPath { appending(.index(index)) }

    public var description: String {
        var out = ""
        for c in components {
            switch c {
            case let .key(k): out += out.isEmpty ? k : "." + k
            case let .index(i): out += "[\(i)]"
            case let .id(id): out += "[\(id)]"
            }
        }
        return out
    }

    /// Parses `regions[0].users`, `pops[nyc-1].egress`, `catalog.popularity`.
    public static func parse(_ text: String) -> KeyPath? {
        var components: [Component] = []
        var rest = Substring(text)
        while !rest.isEmpty {
            if rest.first == "[" {
                guard let close = rest.firstIndex(of: "]") else { return nil }
                let inside = rest[rest.index(after: rest.startIndex)..<close]
                guard !inside.isEmpty else { return nil }
                if let i = Int(inside) { components.append(.index(i)) } else { components.append(.id(String(inside))) }
                rest = rest[rest.index(after: close)...]
                if rest.first == "." { rest = rest.dropFirst(); if rest.isEmpty { return nil } }
                continue
            }
            let end = rest.firstIndex { $0 == "." || $0 == "[" } ?? rest.endIndex
            let key = rest[..<end]
            guard !key.isEmpty else { return nil }
            components.append(.key(String(key)))
            rest = rest[end...]
            if rest.first == "." { rest = rest.dropFirst(); if rest.isEmpty { return nil } }
        }
        return components.isEmpty ? nil : KeyPath(components)
    }

    /// Whether `self` is `other` or lies below it; `.id` components match the index of the element
    /// they name only by text, so overrides are matched by the path they were written with.
    func hasPrefix(_ other: KeyPath) -> Bool {
        other.components.count <= components.count && Array(components.prefix(other.components.count)) == other.components
    }
}
