/// A file a site might hold: its size and how much it is expected to be asked for.
public struct PlacementCandidate: Sendable, Equatable {
    public var file: Int
    public var sizeBytes: Double
    /// Forecast bytes requested at the site per day.
    public var demandBytesPerDay: Double
    /// Forecast peak request rate of the file at the site, bits per second (sizes its replicas).
    public var peakBitsPerSecond: Double

    public init(file: Int, sizeBytes: Double, demandBytesPerDay: Double, peakBitsPerSecond: Double = 0) {
        self.file = file
        self.sizeBytes = sizeBytes
        self.demandBytesPerDay = demandBytesPerDay
        self.peakBitsPerSecond = peakBitsPerSecond
    }
}

/// What a site is: its storage, servers and the rules its plans follow.
public struct SiteSpecification: Sendable, Equatable {
    public var storageBytes: Double
    public var servers: Int
    /// Egress of one server, bits per second.
    public var serverEgressBitsPerSecond: Double
    /// A held file keeps its place unless a newcomer's demand per byte beats it by this fraction.
    public var churnMargin: Double
    /// The utilisation a replica should run at, at the file's forecast peak.
    public var replicaUtilisation: Double
    public var maximumReplicas: Int

    public init(storageBytes: Double, servers: Int, serverEgressBitsPerSecond: Double, churnMargin: Double = 0.05,
                replicaUtilisation: Double = 0.5, maximumReplicas: Int = 4) {
        precondition(storageBytes >= 0 && servers >= 1 && serverEgressBitsPerSecond > 0, "a site needs storage, servers and egress")
        precondition(churnMargin >= 0 && replicaUtilisation > 0 && maximumReplicas >= 1, "invalid plan rules")
        self.storageBytes = storageBytes
        self.servers = servers
        self.serverEgressBitsPerSecond = serverEgressBitsPerSecond
        self.churnMargin = churnMargin
        self.replicaUtilisation = replicaUtilisation
        self.maximumReplicas = maximumReplicas
    }
}

/// A file in a plan, with the number of servers that hold a copy.
public struct PlannedFile: Sendable, Equatable {
    public var file: Int
    public var replicas: Int
    /// Forecast bytes per day: the file's priority for filling.
    public var demandBytesPerDay: Double
}

/// What a site should hold, most valuable first.
public struct SitePlan: Sendable, Equatable {
    public var files: [PlannedFile]
    /// Storage the plan uses, replicas included.
    public var usedBytes: Double
    /// Forecast share of the site's requested bytes that the plan's files serve (its offload).
    public var expectedOffload: Double
    /// Files in the plan that were not held, and held files left out, both ascending.
    public var added: [Int]
    public var removed: [Int]
}

/// Per-site content placement, in the way of Netflix's Open Connect: each night a site is told
/// which files to hold, ranked by forecast demand, within its storage.
///
/// Ranking: files are taken in decreasing order of forecast demand per byte stored (bytes per day
/// over size × replicas), skipping any that no longer fit, until storage is full: the greedy
/// solution of the fractional knapsack, which for equal-size files is exactly the top-C oracle.
/// Churn: a file already held ranks as if its demand were `1 + churnMargin` times larger, so a
/// newcomer displaces it only if clearly more valuable; each file replaced costs a fill, and
/// near-ties would otherwise swap back and forth from day to day as demand noise moves them. With
/// `churnMargin` 0, ties still go to the file already held.
/// Replicas: a file is copied on enough servers for its forecast peak to run each copy at
/// `replicaUtilisation` of a server's egress (at least one, at most `maximumReplicas` and the
/// servers there are).
public enum Planner {
    /// - Complexity: O(n log n) for n candidates.
    public static func plan(site: SiteSpecification, candidates: [PlacementCandidate], isHeld: (Int) -> Bool) -> SitePlan {
        struct Ranked {
            var index: Int
            var score: Double
            var held: Bool
            var replicas: Int
        }
        var ranked: [Ranked] = []
        ranked.reserveCapacity(candidates.count)
        var totalDemand = 0.0
        for (i, c) in candidates.enumerated() {
            precondition(c.sizeBytes > 0 && c.demandBytesPerDay >= 0, "file \(c.file): size must be > 0 and demand >= 0")
            totalDemand += c.demandBytesPerDay
            guard c.demandBytesPerDay > 0 else { continue }
            let r = replicas(peakBitsPerSecond: c.peakBitsPerSecond, site: site)
            let held = isHeld(c.file)
            let density = c.demandBytesPerDay / (c.sizeBytes * Double(r))
            ranked.append(Ranked(index: i, score: held ? density * (1 + site.churnMargin) : density, held: held, replicas: r))
        }
        ranked.sort { a, b in
            if a.score != b.score { return a.score > b.score }
            if a.held != b.held { return a.held }
            return candidates[a.index].file < candidates[b.index].file
        }
        var used = 0.0, served = 0.0
        var files: [PlannedFile] = []
        var inPlan = Set<Int>()
        for r in ranked {
            let c = candidates[r.index]
            let cost = c.sizeBytes * Double(r.replicas)
            guard used + cost <= site.storageBytes else { continue }
            used += cost
            served += c.demandBytesPerDay
            files.append(PlannedFile(file: c.file, replicas: r.replicas, demandBytesPerDay: c.demandBytesPerDay))
            inPlan.insert(c.file)
        }
        let added = files.map(\.file).filter { !isHeld($0) }.sorted()
        let removed = candidates.map(\.file).filter { isHeld($0) && !inPlan.contains($0) }.sorted()
        return SitePlan(files: files, usedBytes: used, expectedOffload: totalDemand > 0 ? served / totalDemand : 0,
                        added: added, removed: removed)
    }

    /// Copies of a file the site keeps: enough for its forecast peak.
    public static func replicas(peakBitsPerSecond: Double, site: SiteSpecification) -> Int {
        let perCopy = site.serverEgressBitsPerSecond * site.replicaUtilisation
        let needed = peakBitsPerSecond > 0 ? Int((peakBitsPerSecond / perCopy).rounded(.up)) : 1
        return max(1, min(needed, site.maximumReplicas, site.servers))
    }
}

/// Forecast demand per item: an exponentially weighted moving average of observed rates, each
/// observation weighted by the span it covers: `1 − 2^(−span / halfLife)` (a day observed with a
/// half-life of one day weighs one half; two half-days weigh the same as one day).
public struct DemandForecast: Sendable, Equatable {
    public private(set) var values: [Double]
    /// Half-life, in the unit of the spans folded in (days, say).
    public let halfLife: Double

    public init(initial: [Double], halfLifePeriods: Double) {
        precondition(halfLifePeriods > 0, "half-life must be > 0")
        values = initial
        halfLife = halfLifePeriods
    }

    /// The weight an observation over `span` gets.
    public func weight(over span: Double) -> Double { 1 - pow2(-span / halfLife) }

    /// Folds in rates observed over `span` (one per item).
    public mutating func fold(rates observed: [Double], over span: Double = 1) {
        precondition(observed.count == values.count, "one observation per item")
        precondition(span >= 0, "span must be >= 0")
        let w = weight(over: span)
        for i in values.indices { values[i] += w * (observed[i] - values[i]) }
    }
}

/// 2^x for the forecast's weight, without Foundation.
func pow2(_ x: Double) -> Double {
    // exp2 by range reduction: 2^x = 2^n · 2^f, f in [0, 1), 2^f by its Taylor series in f·ln 2.
    let n = x.rounded(.down)
    let f = (x - n) * 0.693_147_180_559_945_3
    var term = 1.0, sum = 1.0
    for k in 1...30 {
        term *= f / Double(k)
        sum += term
    }
    return sum * Double(sign: .plus, exponent: Int(n), significand: 1)
}
