import Foundation
import Metrics
import Reports
import SimCore
import World

/// The scenario's prices (its `cost` section), read once. A source of egress without a price,
/// and every price left out, cost nothing.
struct CostModel {
    /// How a source of egress is billed: per byte, or at the 95th percentile of its 5-minute
    /// average rates (95/5, as transit ports are), per Mbps and month.
    enum Billing {
        case perGB(Double)
        case p95(perMbpsMonth: Double)

        var name: String {
            switch self {
            case .perGB: "perGB"
            case .p95: "95/5"
            }
        }
    }

    /// The sources of egress, in report order.
    enum Source: String, CaseIterable {
        case originToInternet, originFill, interPop, popToUsers
    }

    /// Cloud providers and the seeds price a month as 730 hours (365 × 24 / 12).
    static let hoursPerMonth = 730.0
    /// 95/5 billing samples the rate over 5-minute windows.
    static let billingWindowSeconds = 300.0

    var currency: String
    var egress: [Source: Billing] = [:]
    var popStoragePerTBMonth: Double
    var originStoragePerTBMonth: Double
    var popEgressPerGbpsMonth: Double
    var appliancePrice: Double
    var amortisationMonths: Double
    var powerWatts: Double
    var electricityPerKWh: Double
    var originRequestsPerThousand: Double

    /// The model of `root`'s `cost` section; nil without one.
    init?(_ root: Resolved) {
        let c = root["cost"]
        guard !c.isAbsent else { return nil }
        currency = c["currency"].text
        for source in Source.allCases {
            let price = c["egress"][source.rawValue]
            guard !price.isAbsent else { continue }
            egress[source] = price["perGB"].isAbsent ? .p95(perMbpsMonth: price["perMbpsMonth"].value) : .perGB(price["perGB"].value)
        }
        popStoragePerTBMonth = c["storage"]["popPerTBMonth"].value
        originStoragePerTBMonth = c["storage"]["originPerTBMonth"].value
        popEgressPerGbpsMonth = c["popEgressPerGbpsMonth"].value
        appliancePrice = c["appliances"]["price"].value
        amortisationMonths = c["appliances"]["amortisationMonths"].value
        powerWatts = c["appliances"]["powerWatts"].value
        electricityPerKWh = c["appliances"]["electricityPerKWh"].value
        originRequestsPerThousand = c["originRequests"].value
    }
}

/// What one site (a PoP or an origin replica) cost over the run, by component.
struct SiteCost {
    var id: String
    var region: String
    var egress: [CostModel.Source: Double] = [:]
    /// Per source: the billed rate of a 95/5 source (Mbps), nil when billed per byte.
    var billedMbps: [CostModel.Source: Double] = [:]
    var bytes: [CostModel.Source: Double] = [:]
    var storage = 0.0
    /// A PoP's configured egress capacity.
    var capacity = 0.0
    var capex = 0.0
    var power = 0.0
    var requests = 0.0

    /// Summed in source order: a dictionary's order changes from process to process, and so would the rounding.
    var egressTotal: Double { CostModel.Source.allCases.reduce(0) { $0 + (egress[$1] ?? 0) } }
    var total: Double { egressTotal + storage + capacity + capex + power + requests }
}

/// The run's cost: every site's, and per bucket the cost rate.
struct CostBreakdown {
    var model: CostModel
    var hours: Double
    var pops: [SiteCost]
    var origins: [SiteCost]
    /// Currency per hour, per bucket: per-byte egress as it flowed, the rest spread evenly.
    var perHour: [Double]
    /// Bytes delivered to users (platform scale) and hours played.
    var deliveredBytes: Double
    var playHours: Double
    /// 5-minute windows behind a 95/5 figure, and their length in seconds.
    var billingWindows: Int
    var billingWindowSeconds: Double

    var sites: [SiteCost] { pops + origins }
    var total: Double { sites.reduce(0) { $0 + $1.total } }
    func sum(_ f: (SiteCost) -> Double) -> Double { sites.reduce(0) { $0 + f($1) } }
}

extension RunReport {
    /// The cost of the run under the scenario's prices; nil when the scenario has none.
    var cost: CostBreakdown? {
        guard let model = CostModel(scenario.root) else { return nil }
        let months = hours / CostModel.hoursPerMonth
        let buckets = results.global.concurrencySeries.bucketCount
        let width = results.global.concurrencySeries.bucketWidth.seconds
        let perWindow = max(1, Int((CostModel.billingWindowSeconds / width).rounded()))
        var perHour = [Double](repeating: 0, count: buckets)
        var fixedTotal = 0.0

        /// Platform bytes per bucket of a sampled series.
        func platform(_ s: TimeSeries) -> [Double] { (0..<buckets).map { $0 < s.bucketCount ? s.sums[$0] * k : 0 } }
        /// Books a source's bytes per bucket on `site` at its price.
        func charge(_ source: CostModel.Source, _ bytes: [Double], on site: inout SiteCost) {
            let total = bytes.reduce(0, +)
            site.bytes[source] = total
            switch model.egress[source] {
            case nil:
                site.egress[source] = 0
            case let .perGB(price)?:
                site.egress[source] = total / 1e9 * price
                for b in bytes.indices { perHour[b] += bytes[b] / 1e9 * price / (width / 3_600) }
            case let .p95(perMbpsMonth)?:
                let mbps = stride(from: 0, to: bytes.count, by: perWindow).map { start in
                    let end = min(bytes.count, start + perWindow)
                    return bytes[start..<end].reduce(0, +) * 8 / (Double(end - start) * width) / 1e6
                }
                let billed = percentile(mbps, 95)
                site.billedMbps[source] = billed
                site.egress[source] = billed * perMbpsMonth * months
                fixedTotal += billed * perMbpsMonth * months
            }
        }

        let pops: [SiteCost] = results.pops.map { p in
            var site = SiteCost(id: p.id, region: p.region)
            let served = platform(p.metrics.egress), relayed = platform(p.relayed), filled = platform(p.filled)
            charge(.popToUsers, served.indices.map { max(0, served[$0] - relayed[$0] - filled[$0]) }, on: &site)
            charge(.interPop, relayed.indices.map { relayed[$0] + filled[$0] }, on: &site)
            site.storage = p.storageBytes / 1e12 * model.popStoragePerTBMonth * months
            site.capacity = p.egress * k / 1e9 * model.popEgressPerGbpsMonth * months
            let servers = Double(p.servers)
            site.capex = servers * model.appliancePrice / model.amortisationMonths * months
            site.power = servers * model.powerWatts / 1_000 * hours * model.electricityPerKWh
            fixedTotal += site.storage + site.capacity + site.capex + site.power
            return site
        }
        let origins: [SiteCost] = results.origins.map { o in
            var site = SiteCost(id: "origin-\(o.region)", region: o.region)
            charge(.originToInternet, platform(o.relayed), on: &site)
            charge(.originFill, platform(o.filled), on: &site)
            site.storage = results.catalogNominalBytes / 1e12 * model.originStoragePerTBMonth * months
            // Misses are sampled users' (scaled by k); fills move whole files (not scaled).
            let requests = Double(o.missRequests) * k + Double(o.fillRequests)
            site.requests = requests / 1_000 * model.originRequestsPerThousand
            fixedTotal += site.storage
            // Requests follow the bytes they fetched: spread like the replica's egress.
            let bytes = platform(o.bytes), all = bytes.reduce(0, +)
            if all > 0 {
                for b in bytes.indices { perHour[b] += site.requests * bytes[b] / all / (width / 3_600) }
            } else {
                fixedTotal += site.requests
            }
            return site
        }
        if hours > 0 { for b in perHour.indices { perHour[b] += fixedTotal / hours } }
        let delivered = pops.reduce(0) { $0 + ($1.bytes[.popToUsers] ?? 0) }
        return CostBreakdown(model: model, hours: hours, pops: pops, origins: origins, perHour: perHour, deliveredBytes: delivered,
                             playHours: Double(results.global.play) / 3.6e9 * k,
                             billingWindows: (buckets + perWindow - 1) / perWindow, billingWindowSeconds: Double(perWindow) * width)
    }

    /// report.json's `metrics.cost`: totals, components, per source, per site and per region.
    func costJSON(_ c: CostBreakdown) -> JSONValue {
        func money(_ x: Double) -> JSONValue { .rounded(x, digits: 4) }
        func site(_ s: SiteCost) -> JSONValue {
            .object([
                ("id", .string(s.id)), ("region", .string(s.region)), ("total", money(s.total)),
                ("egress", .object(CostModel.Source.allCases.compactMap { src in s.egress[src].map { (src.rawValue, money($0)) } })),
                ("storage", money(s.storage)), ("egressCapacity", money(s.capacity)), ("appliances", money(s.capex + s.power)),
                ("originRequests", money(s.requests)),
            ])
        }
        let sources: [(String, JSONValue)] = CostModel.Source.allCases.map { src in
            let billing = c.model.egress[src]
            let billed = c.sites.compactMap { $0.billedMbps[src] }
            return (src.rawValue, .object([
                ("cost", money(c.sum { $0.egress[src] ?? 0 })),
                ("TB", .rounded(c.sum { $0.bytes[src] ?? 0 } / 1e12, digits: 3)),
                ("billing", billing.map { .string($0.name) } ?? .null),
                // 95/5: the sum of each site's billed rate (each site is a port billed on its own).
                ("billedMbps", billed.isEmpty ? .null : .rounded(billed.reduce(0, +), digits: 1)),
            ]))
        }
        let regions = results.regions.map(\.id)
        let regionTotals: [JSONValue] = regions.map { r in
            .object([("id", .string(r)), ("total", money(c.sites.filter { $0.region == r }.reduce(0) { $0 + $1.total }))])
        }
        return .object([
            ("currency", .string(c.model.currency)),
            ("hours", .rounded(c.hours, digits: 3)),
            ("total", money(c.total)),
            ("perDeliveredHour", c.playHours > 0 ? .rounded(c.total / c.playHours, digits: 6) : .null),
            ("perGBDelivered", c.deliveredBytes > 0 ? .rounded(c.total / (c.deliveredBytes / 1e9), digits: 6) : .null),
            // What the PoPs cost (their storage, ports, appliances and the egress they send),
            // and what the origin costs: a capacity planner sizing PoPs minimises the first.
            ("byTier", .object([("pops", money(c.pops.reduce(0) { $0 + $1.total })), ("origin", money(c.origins.reduce(0) { $0 + $1.total }))])),
            ("components", .object([
                ("egress", money(c.sum(\.egressTotal))),
                ("storage", .object([("pops", money(c.pops.reduce(0) { $0 + $1.storage })), ("origin", money(c.origins.reduce(0) { $0 + $1.storage }))])),
                ("egressCapacity", money(c.sum(\.capacity))),
                ("appliances", .object([("capex", money(c.sum(\.capex))), ("power", money(c.sum(\.power)))])),
                ("originRequests", money(c.sum(\.requests))),
            ])),
            ("egress", .object(sources)),
            ("billingWindows", .object([("count", .integer(Int64(c.billingWindows))),
                                        ("seconds", .rounded(c.billingWindowSeconds, digits: 1))])),
            ("pops", .array(c.pops.map(site))),
            ("origins", .array(c.origins.map(site))),
            ("regions", .array(regionTotals)),
        ])
    }
}
