import Foundation
import Reports
import SimCore
import World

/// report.html's picture of the platform: the origin's replicas, the PoP tiers and the regions
/// whose users they serve, as one inline SVG; and the titles users asked for most.
extension RunReport {
    /// How many titles the top-titles table lists.
    static let topTitleCount = 20

    /// The most requested titles (requests at the sessions' own PoPs, platform scale), with
    /// their hit ratio there and their release time when the catalog released them (null: part
    /// of the catalog from the start). Ties by title id.
    var topTitles: [(title: Int, requests: Double, hitRatio: Double?, releasedAt: SimInstant?)] {
        let counts = results.titleCounts
        func requests(_ t: Int) -> Int64 { counts[2 * t] }
        let asked: [Int] = (0..<(counts.count / 2)).filter { requests($0) > 0 }
        let ranked: [Int] = asked.sorted { a, b in requests(a) != requests(b) ? requests(a) > requests(b) : a < b }
        var out: [(title: Int, requests: Double, hitRatio: Double?, releasedAt: SimInstant?)] = []
        for t in ranked.prefix(Self.topTitleCount) {
            let hits = Double(counts[2 * t + 1]), all = Double(requests(t))
            let released: SimInstant? = results.releaseTimes.first { $0.title == t }?.time
            out.append((title: t, requests: all * k, hitRatio: Self.ratio(hits, all), releasedAt: released))
        }
        return out
    }

    var topTitlesJSON: JSONValue {
        .array(topTitles.map { t in
            .object([("title", .integer(Int64(t.title))), ("requests", .integer(Int64(t.requests.rounded()))), ("hitRatio", json(t.hitRatio, 5)),
                     ("releasedAt", t.releasedAt.map { .string(DateTimeText.format(startUnix + $0.microseconds / 1_000_000)) } ?? .null)])
        })
    }

    func topTitlesTable(_ top: [(title: Int, requests: Double, hitRatio: Double?, releasedAt: SimInstant?)]) -> TextTable {
        var table = TextTable(header: ["rank", "title", "requests", "hit ratio", "released"], rightAligned: [0, 1, 2, 3])
        for (rank, t) in top.enumerated() {
            let released = t.releasedAt.map { $0 >= .zero ? "in the run, \(instant($0))" : instant($0) } ?? ""
            table.add([String(rank + 1), String(t.title), Self.grouped(t.requests), Self.text(t.hitRatio, "%.2f%%", scale: 100), released])
        }
        return table
    }

    /// A PoP's or replica's colour by its peak utilisation: headroom, busy, saturated.
    static func utilisationColour(_ peak: Double) -> String {
        peak >= 0.9 ? "#d62728" : peak >= 0.7 ? "#ff7f0e" : "#2ca02c"
    }

    /// Peak utilisation (committed rate over capacity) per PoP, and per replica (its busiest
    /// bucket's egress over its capacity).
    var popPeakUtilisation: [Double] {
        results.pops.map { p in (0..<p.metrics.utilisation.bucketCount).map { p.metrics.utilisation.mean($0) }.max() ?? 0 }
    }

    var replicaPeakUtilisation: [Double] {
        results.origins.map { o in
            let peak = (0..<o.bytes.bucketCount).map { o.bytes.ratePerSecond($0) * 8 }.max() ?? 0
            return o.egress > 0 ? peak / o.egress : 0
        }
    }

    /// The topology: rows from the origin down (replicas, PoPs with no parent, then each tier
    /// below), the regions at the bottom. A PoP's line to its parent and to its region is drawn
    /// with a width that grows with its egress capacity (log scale) and the colour of its peak
    /// utilisation; a site that had a fault is outlined in dashes, with the faults listed under it.
    var topologySVG: String {
        let pops = results.pops
        let parents = pops.indices.map { scenarioParent($0) }
        // Tier of each PoP: 0 for one without a parent, its parent's + 1 below.
        var tier = [Int](repeating: 0, count: pops.count)
        for _ in 0..<pops.count {
            for i in pops.indices { if let p = parents[i] { tier[i] = tier[p] + 1 } }
        }
        let tiers = (tier.max() ?? 0) + 1
        let width = 760.0, rowGap = 100.0, top = 56.0
        let rows = 2 + tiers
        let height = top + Double(rows - 1) * rowGap + 84
        func xs(_ count: Int) -> [Double] { (0..<count).map { (Double($0) + 0.5) * width / Double(max(1, count)) } }
        let replicaX = xs(results.origins.count)
        var popX = [Double](repeating: 0, count: pops.count)
        for t in 0..<tiers {
            let members = pops.indices.filter { tier[$0] == t }
            for (j, i) in members.enumerated() { popX[i] = xs(members.count)[j] }
        }
        let regionX = xs(results.regions.count)
        func popY(_ i: Int) -> Double { top + Double(1 + tier[i]) * rowGap }
        let regionY = top + Double(rows - 1) * rowGap
        let capacities = pops.map { $0.egress * k }
        let smallest = max(1, capacities.filter { $0 > 0 }.min() ?? 1)
        func strokeWidth(_ capacity: Double) -> Double { 1 + 2.5 * log10(max(1, capacity / smallest) * 10) }
        let popPeaks = popPeakUtilisation, replicaPeaks = replicaPeakUtilisation
        let faultedPops = Set(results.incidents.compactMap(\.pop))
        let faultedRegions = Set(results.incidents.filter { $0.pop == nil }.compactMap(\.region))
        func gbps(_ bits: Double) -> String { bits >= 1e12 ? String(format: "%.1f Tbit/s", bits / 1e12) : String(format: "%.0f Gbit/s", bits / 1e9) }
        func f(_ x: Double) -> String { String(format: "%.1f", x) }

        var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" "
        out += "role=\"img\" aria-label=\"The platform: origin replicas, PoPs and regions\">\n"
        out += "<text x=\"8\" y=\"16\" class=\"title\">The platform: origin replicas, PoP tiers and the regions they serve</text>\n"
        // Links first, under the boxes.
        for i in pops.indices {
            let colour = Self.utilisationColour(popPeaks[i]), w = strokeWidth(capacities[i])
            if let r = results.regions.firstIndex(where: { $0.id == pops[i].region }) {
                out += "<line x1=\"\(f(popX[i]))\" y1=\"\(f(popY(i) + 22))\" x2=\"\(f(regionX[r]))\" y2=\"\(f(regionY - 16))\" stroke=\"\(colour)\" stroke-width=\"\(f(w))\" stroke-opacity=\"0.55\"/>\n"
            }
            if let p = parents[i] {
                out += "<line x1=\"\(f(popX[i]))\" y1=\"\(f(popY(i) - 22))\" x2=\"\(f(popX[p]))\" y2=\"\(f(popY(p) + 22))\" stroke=\"\(Self.utilisationColour(popPeaks[p]))\" stroke-width=\"\(f(strokeWidth(capacities[p])))\" stroke-opacity=\"0.55\"/>\n"
            } else {
                // A PoP without a parent fetches from the origin.
                for (r, x) in replicaX.enumerated() {
                    out += "<line x1=\"\(f(popX[i]))\" y1=\"\(f(popY(i) - 22))\" x2=\"\(f(x))\" y2=\"\(f(top + 22))\" stroke=\"\(Self.utilisationColour(replicaPeaks[r]))\" stroke-width=\"1.2\" stroke-opacity=\"0.45\" stroke-dasharray=\"4 3\"/>\n"
                }
            }
        }
        // Boxes share their row: as wide as a row's slot allows.
        let widest = max(results.origins.count, results.regions.count, (0..<tiers).map { t in tier.filter { $0 == t }.count }.max() ?? 1)
        let boxWidth = min(118, width / Double(max(1, widest)) - 6)
        func count(_ x: Double) -> String { x >= 1e6 ? String(format: "%.2fM", x / 1e6) : x >= 1e4 ? String(format: "%.0fk", x / 1e3) : Self.grouped(x) }
        func box(_ x: Double, _ y: Double, _ lines: [String], fill: String, faulted: Bool) {
            let w = boxWidth, h = 16.0 + 13.0 * Double(lines.count - 1)
            let dash = faulted ? " stroke=\"#d62728\" stroke-width=\"2\" stroke-dasharray=\"4 2\"" : " stroke=\"#555\" stroke-width=\"0.8\""
            out += "<rect x=\"\(f(x - w / 2))\" y=\"\(f(y - h / 2))\" width=\"\(f(w))\" height=\"\(f(h))\" rx=\"4\" fill=\"\(fill)\" fill-opacity=\"0.18\"\(dash)/>\n"
            for (j, line) in lines.enumerated() {
                out += "<text x=\"\(f(x))\" y=\"\(f(y - h / 2 + 12 + 13 * Double(j)))\" class=\"tick\" text-anchor=\"middle\">\(escape(line))</text>\n"
            }
        }
        for (r, o) in results.origins.enumerated() {
            let faulted = results.incidents.contains { $0.pop == nil && $0.region.map { results.regions[$0].id } == o.region && $0.kind.rawValue.hasPrefix("origin") }
            box(replicaX[r], top, ["origin \(o.region)", gbps(o.egress * k), "peak \(String(format: "%.0f%%", replicaPeaks[r] * 100))"],
                fill: Self.utilisationColour(replicaPeaks[r]), faulted: faulted)
        }
        for i in pops.indices {
            var lines = [pops[i].id, gbps(capacities[i]), "peak \(String(format: "%.0f%%", popPeaks[i] * 100))"]
            let faults = results.incidents.filter { $0.pop == i }.map(\.kind.rawValue)
            if !faults.isEmpty { lines.append(faults.joined(separator: ", ")) }
            box(popX[i], popY(i), lines, fill: Self.utilisationColour(popPeaks[i]), faulted: faultedPops.contains(i))
        }
        for (r, region) in results.regions.enumerated() {
            var lines = [region.id, "\(count(region.aggregate.concurrency.maximum * k)) streams"]
            let faults = results.incidents.filter { $0.pop == nil && $0.region == r }.map(\.kind.rawValue)
            if !faults.isEmpty { lines.append(faults.joined(separator: ", ")) }
            box(regionX[r], regionY, lines, fill: "#1f77b4", faulted: faultedRegions.contains(r))
        }
        out += "<text x=\"8\" y=\"\(f(height - 24))\" class=\"tick\">Colour: peak utilisation (green under 70%, orange under 90%, red above).</text>\n"
        out += "<text x=\"8\" y=\"\(f(height - 10))\" class=\"tick\">Line width: the PoP's egress capacity (log scale). Dashed outline: a fault struck it.</text>\n"
        return out + "</svg>\n"
    }
}
