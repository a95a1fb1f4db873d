import ABR
import Manifests
import World
/// The scenario language: every key, its type and unit, its default and what it means.
///
/// This table is the single source for parsing, defaults, the resolved scenario that `validate`
/// prints and reports carry, and the key reference in docs/scenarios.md (a test regenerates the
/// reference and compares).
public enum ScenarioSchema {
    public static let root = Schema([
        Field("name", .identifier, .required,
              "Names the scenario; the default report folder is Reports/<name>/."),
        Field("description", .text, .defaulted("\"\""), "What the scenario is for, in a sentence or two."),
        Field("seed", .integer(minimum: 0, maximum: Int64.max), .defaulted("1"),
              "The one seed every random stream derives from. `vodsim run --seed N` overrides it."),
        Field("start", .dateTime, .required,
              "The simulated start, in UTC. Regional local times (and so demand) follow from it."),
        Field("duration", .quantity(.duration, .above(0, atMost: 366 * 86_400)), .required,
              "How much simulated time to run, e.g. 2 h."),
        Field("sampling", .integer(minimum: 1, maximum: 1_000_000), .defaulted("1"),
              "Simulate 1 in k users, with capacities scaled by 1/k; counts in the report are scaled back by k. 1 simulates every user."),
        Field("regions", .records(region, minimumCount: 1), .required,
              "Where users are: one entry per region (see below)."),
        Field("catalog", .object(catalog), .defaulted("{}"), "The titles users watch (see below)."),
        Field("pops", .records(pop, minimumCount: 1), .required,
              "CDN points of presence (Open Connect-style sites), at least one; see below."),
        Field("origin", .object(origin), .defaulted("{}"), "The S3-like origin store (see below)."),
        Field("clients", .object(clients), .defaulted("{}"), "How users watch: demand and players (see below)."),
        Field("placement", .object(placement), .defaulted("{}"),
              "How content reaches the PoPs: nightly placement plans, the fill window, what a miss does (see below)."),
        Field("activity", .object(activity), .defaulted("{}"),
              "The activity pipeline: client events, the partitioned log, aggregation, published data sets (see below)."),
        Field("faults", .records(fault, minimumCount: 0), .defaulted("[]"),
              "Failures and surges to inject, at given times or at random (see below)."),
        Field("metrics", .object(metrics), .defaulted("{}"), "What the report records (see below)."),
        Field("execution", .object(execution), .defaulted("{}"),
              "How the run is split into partitions that run in parallel (see below)."),
        Field("compare", .object(compare), .optional,
              "Also run the scenario with some values changed, and compare the two in the report (see below)."),
        Field("controlPlane", .object(controlPlane), .optional,
              "The control plane: request classes the users send, the services, caches and sharded databases that answer them, and the overload controls (see below). Without it the playback API is one latency, clients.apiLatency."),
        Field("cost", .object(cost), .optional,
              "Prices, to put a cost on the run: egress by source, storage, appliances, origin requests (see below). Without it the report has no cost section."),
    ], check: { root in
        // Parent tiers must end at the origin: no cycles.
        let pops = root["pops"].list
        let parent = Dictionary(uniqueKeysWithValues: pops.map { ($0["id"].text, $0["parent"].isAbsent ? nil : $0["parent"].text) })
        // Scheduled releases fall between the release schedule's start and the end of the run.
        if case let .dateTime(start) = root["start"] {
            let end = start + Int64(root["duration"].value)
            for (i, release) in root["catalog"]["newReleases"]["scheduled"].list.enumerated() {
                guard case let .dateTime(t) = release["at"] else { continue }
                if t < start - 30 * 86_400 || t > end {
                    return [RecordProblem(key: "catalog", "newReleases.scheduled[\(i)].at: must be between 30 days before the start and the end of the run")]
                }
            }
        }
        // The run's length over the widths that divide it: each bucket and publication costs
        // memory and files whatever the machine.
        let runSeconds = root["duration"].value
        if runSeconds / root["metrics"]["bucket"].value > 1_000_000 {
            return [RecordProblem(key: "metrics", "bucket: \(Quantity.format(root["metrics"]["bucket"].value, as: .duration)) gives \(Int((runSeconds / root["metrics"]["bucket"].value).rounded(.up))) buckets over the run; at most 1,000,000: make it at least \(Quantity.format((runSeconds / 1_000_000).rounded(.up), as: .duration))")]
        }
        if runSeconds / root["activity"]["publishPeriod"].value > 10_000 {
            return [RecordProblem(key: "activity", "publishPeriod: \(Quantity.format(root["activity"]["publishPeriod"].value, as: .duration)) publishes \(Int(runSeconds / root["activity"]["publishPeriod"].value)) times over the run, each a folder of data sets in the report; at most 10,000")]
        }
        // The players' buffer against the segments (the player's own rule: at most 31 segments,
        // room for the startup buffer and a segment).
        let segment = Int64((root["catalog"]["segmentDuration"].value * 1e6).rounded())
        let player = PlayerConfiguration(algorithm: .throughput(safety: 0.9), maxBuffer: Int64((root["clients"]["maxBuffer"].value * 1e6).rounded()),
                                         startupBuffer: Int64((root["clients"]["startupBuffer"].value * 1e6).rounded()))
        if let problem = player.problem(playing: PlaybackManifest(bitrates: [1], segmentDurations: [segment, segment])) {
            return [RecordProblem(key: "catalog", "segmentDuration: with clients.maxBuffer \(Quantity.format(root["clients"]["maxBuffer"].value, as: .duration)) and startupBuffer \(Quantity.format(root["clients"]["startupBuffer"].value, as: .duration)), \(problem)")]
        }
        // Origin faults strike a region holding a replica; a surge's title is in the catalog; a
        // fault starts within the run (one that never happens is a mistake, not a no-op).
        let replicas = root["origin"]["regions"].list.map(\.text)
        let firstRegion = root["regions"].list.first?["id"].text
        let titles = Int(root["catalog"]["titles"].value)
        for (i, fault) in root["faults"].list.enumerated() {
            let type = fault["type"].text
            if fault["at"].value >= runSeconds {
                return [RecordProblem(key: "faults", "[\(i)].at: \(Quantity.format(fault["at"].value, as: .duration)) is at or after the end of the run (duration \(Quantity.format(runSeconds, as: .duration))): the fault would never happen")]
            }
            if type.hasPrefix("origin"), !fault["region"].isAbsent,
               !(replicas.isEmpty ? [firstRegion].contains(fault["region"].text) : replicas.contains(fault["region"].text)) {
                return [RecordProblem(key: "faults", "[\(i)].region: \(fault["region"].text) holds no origin replica (origin.regions)")]
            }
            if controlPlaneFaults.contains(type) || (type.hasPrefix("controlPlane") && !root["controlPlane"].isAbsent) {
                let cp = root["controlPlane"]
                if cp.isAbsent { return [RecordProblem(key: "faults", "[\(i)].type: \(type) strikes the control plane: add a controlPlane: section")] }
                let targets = (cp["services"].list + cp["caches"].list + cp["databases"].list).map { $0["id"].text }
                let needsTarget = type != "retryStorm" && !type.hasPrefix("controlPlane")
                if needsTarget && fault["target"].isAbsent { return [RecordProblem(key: "faults", "[\(i)]: a \(type) fault needs 'target' (one of \(targets.joined(separator: ", ")))")] }
                if needsTarget && !targets.contains(fault["target"].text) {
                    return [RecordProblem(key: "faults", "[\(i)].target: \(fault["target"].text) is not a service, cache or database (one of \(targets.joined(separator: ", ")))")]
                }
                let caches = cp["caches"].list.map { $0["id"].text }, databases = cp["databases"].list
                if type == "cacheFlush" && !caches.contains(fault["target"].text) {
                    return [RecordProblem(key: "faults", "[\(i)].target: a cacheFlush needs a cache (one of \(caches.joined(separator: ", ")))")]
                }
                if type.hasPrefix("shard") {
                    guard let db = databases.first(where: { $0["id"].text == fault["target"].text }) else {
                        return [RecordProblem(key: "faults", "[\(i)].target: a \(type) needs a database (one of \(databases.map { $0["id"].text }.joined(separator: ", ")))")]
                    }
                    if !fault["shard"].isAbsent && fault["shard"].integer >= db["shards"].integer {
                        return [RecordProblem(key: "faults", "[\(i)].shard: \(fault["target"].text) has shards 0 to \(db["shards"].integer - 1)")]
                    }
                }
                let hosts = cp["regions"].list.map(\.text)
                if type != "retryStorm" && type != "controlPlaneSlow" && !fault["region"].isAbsent && !hosts.contains(fault["region"].text) {
                    return [RecordProblem(key: "faults", "[\(i)].region: \(fault["region"].text) hosts no control plane (controlPlane.regions: \(hosts.joined(separator: ", ")))")]
                }
            }
            if !fault["title"].isAbsent && Int(fault["title"].integer) >= titles {
                return [RecordProblem(key: "faults", "[\(i)].title: the catalog has titles 0 to \(titles - 1)")]
            }
        }
        for pop in pops {
            var seen: [String] = [pop["id"].text]
            var next = parent[pop["id"].text] ?? nil
            while let p = next {
                if seen.contains(p) {
                    return [RecordProblem(key: "pops", "parent tiers form a cycle: \((seen + [p]).joined(separator: " -> "))")]
                }
                seen.append(p)
                next = parent[p] ?? nil
            }
        }
        return []
    })

    /// What is valid but probably not what was meant: (key path, message) pairs, printed as
    /// warnings by `validate` and `run`.
    static func warnings(_ root: Resolved) -> [(path: KeyPath, message: String)] {
        var out: [(path: KeyPath, message: String)] = []
        let regions = root["regions"].list
        let pops = root["pops"].list
        let k = Double(root["sampling"].integer)
        for (i, region) in regions.enumerated() {
            let id = region["id"].text
            let path = KeyPath([.key("regions"), .index(i)])
            if !pops.contains(where: { $0["region"].text == id }) {
                out.append((path, "no PoP is in region \(id): its users are steered to PoPs in other regions, with the cross-region round trip added"))
            }
            let users = region["users"].value
            if users / k < 1 {
                out.append((path.appending("users"), "\(Quantity.format(users, as: .count)) users sampled 1 in \(Int(k)) leave \(Quantity.approximate(users / k, as: .number)) of a simulated user: region \(id) is all but empty (lower `sampling`)"))
            }
        }
        // Control-plane pools scale with the sampled, exact users in whole instances.
        let cp = root["controlPlane"]
        if !cp.isAbsent {
            let scale = cp["exactFraction"].value / k
            for section in ["services", "caches", "databases"] {
                for (i, pool) in cp[section].list.enumerated() {
                    let want = Double(pool["instances"].integer) * scale
                    let whole = max(1, want.rounded())
                    guard abs(whole - want) > 0.1 * want else { continue }
                    let path = KeyPath([.key("controlPlane"), .key(section), .index(i), .key("instances")])
                    out.append((path, "\(pool["instances"].integer) instances at \(k == 1 ? "every user" : "1 in \(Int(k)) users") and exactFraction \(Quantity.format(cp["exactFraction"].value, as: .fraction)) make \(Quantity.approximate(want, as: .number)) of an instance; \(pool["id"].text) is simulated with \(Int(whole)) (\(want < 1 ? "its slots scaled, one queue" : "rounded")), so its queueing is not the whole pool's (raise exactFraction, or the instances)"))
                }
            }
        }
        let bucket = root["metrics"]["bucket"].value, run = root["duration"].value
        if bucket > run {
            out.append((KeyPath([.key("metrics"), .key("bucket")]), "\(Quantity.format(bucket, as: .duration)) is longer than the run (\(Quantity.format(run, as: .duration))): every time series has a single bucket"))
        }
        return out
    }

    /// Fills the defaults that depend on other keys, so that the resolved scenario states them.
    static func complete(_ root: Resolved) -> Resolved {
        var result = root
        // origin.regions: empty means the first region.
        if root["origin"]["regions"].list.isEmpty, let first = root["regions"].list.first {
            result = result.replacing(["origin", "regions"], with: .list([first["id"]]))
        }
        return result
    }

    static let region = Schema(idKey: "id", [
        Field("id", .identifier, .required, "Names the region; PoPs and faults refer to it."),
        Field("utcOffset", .quantity(.duration, .range(-12 * 3_600, 14 * 3_600)), .required,
              "Local time minus UTC, e.g. -5 h for New York in winter."),
        Field("users", .quantity(.count, .range(1, 10_000_000_000)), .required, "Users (accounts) in the region, e.g. 40M."),
        Field("demandCurve", .curve, .defaulted("evening"),
              "The shape of session starts over the local day: `evening` (trough near 05:00, peak at 21:00), `flat`, or 24 relative values, one per local hour."),
        Field("engagement", .quantity(.number, .above(0, atMost: 1_000)), .defaulted("1"),
              "Demand per user relative to other regions (with peakScope: global), or a multiplier on peakConcurrency (with peakScope: regional)."),
        Field("tasteVariation", .quantity(.number, .range(0, 3)), .defaulted("0.5"),
              "How far the region's title popularity departs from the global ranking: the sigma of a lognormal factor per title (0: the global ranking exactly)."),
    ])

    static let rung = Schema([
        Field("bitrate", .quantity(.dataRate, .range(1_000, 1e9)), .required, "Nominal (average) video bit rate of the rung."),
        Field("resolution", .text, .required, "Width x height, e.g. 1920x1080."),
        Field("codec", .text, .defaulted("avc1.640028"), "RFC 6381 codec string."),
    ], check: { rung in
        let parts = rung["resolution"].text.split(separator: "x")
        if parts.count != 2 || parts.contains(where: { Int($0) == nil || Int($0)! <= 0 }) {
            return [RecordProblem(key: "resolution", "expected WIDTHxHEIGHT such as 1920x1080, got \(rung["resolution"].text)")]
        }
        // A level too low for the stream's peaks: decoders of that level need not play it.
        let codec = rung["codec"].text, peak = rung["bitrate"].value * Catalog.peakToAverage
        if let limit = CodecLevel.maximumBitrate(codec), peak > limit {
            return [RecordProblem(key: "codec", "\(codec) (\(CodecLevel.describe(codec) ?? codec)) allows \(limit / 1e6) Mbps, below this rung's peak of \(peak / 1e6) Mbps (\(Catalog.peakToAverage) × its bit rate): declare a higher level or tier")]
        }
        return []
    })

    static let catalog = Schema([
        Field("titles", .quantity(.count, .range(1, 10_000_000)), .defaulted("10k"),
              "Titles in the catalog (seed 000: 10K)."),
        Field("duration", .distribution(.duration, .above(0, atMost: 86_400)), .defaulted("{lognormal: {median: 55 min, sigma: 0.45}}"),
              "Length of a title (the default averages about 1 h, as seed 000 assumes)."),
        Field("popularity", .zipf, .defaulted("{zipf: 0.9}"), "How demand falls with popularity rank."),
        Field("segmentDuration", .quantity(.duration, .range(0.1, 60)), .defaulted("4 s"),
              "Media segment length (2–10 s is typical)."),
        Field("ladder", .records(rung, minimumCount: 1), .defaulted("""
            [{bitrate: 235 kbps, resolution: 320x240}, {bitrate: 1 Mbps, resolution: 640x360}, \
            {bitrate: 2 Mbps, resolution: 854x480}, {bitrate: 5 Mbps, resolution: 1280x720}, \
            {bitrate: 8 Mbps, resolution: 1920x1080}, {bitrate: 25 Mbps, resolution: 3840x2160, codec: hvc1.2.4.L156.B0}]
            """), "The bitrate ladder, lowest rung first (default: seed 002's, with a 235 kbps floor)."),
        Field("genres", .quantity(.count, .range(1, 10_000)), .defaulted("20"), "Genres titles are spread over."),
        Field("newReleases", .object(releases), .defaulted("{}"),
              "Titles released around the simulated period, whose demand is boosted at release and decays."),
        Field("sizeVariation", .quantity(.number, .range(0, 2)), .defaulted("0.25"),
              "Spread (lognormal sigma) of segment sizes around the nominal bit rate: variable-bitrate encoding."),
    ], check: { catalog in
        let rates = catalog["ladder"].list.map { $0["bitrate"].value }
        if zip(rates, rates.dropFirst()).contains(where: { $0 >= $1 }) {
            return [RecordProblem(key: "ladder", "bit rates must rise from rung to rung, lowest first")]
        }
        if rates.count > 30 { return [RecordProblem(key: "ladder", "at most 30 rungs, got \(rates.count)")] }
        return []
    })

    static let releases = Schema([
        Field("perDay", .quantity(.number, .range(0, 1_000)), .defaulted("2"),
              "Releases per day, spread evenly from 30 days before the start to the end of the run."),
        Field("boost", .quantity(.number, .range(0, 1e6)), .defaulted("0.5"),
              "Demand for a title on its release, relative to the most popular catalog title (the default: at 2 a day fading with a 3-day half-life, recent releases together draw about a quarter of demand)."),
        Field("halfLife", .quantity(.duration, .positive), .defaulted("3 d"), "How fast the boost fades."),
        Field("announce", .quantity(.duration, .range(0, 366 * 86_400)), .defaulted("7 d"),
              "How long before its release a title is announced: placement plans for it from then."),
        Field("scheduled", .records(scheduledRelease, minimumCount: 0), .defaulted("[]"),
              "Releases at given times (a release night), each a new title, besides the perDay ones."),
    ])

    static let scheduledRelease = Schema([
        Field("at", .dateTime, .required, "When the title is released, in UTC (within 30 days before the start and the end of the run)."),
        Field("boost", .quantity(.number, .above(0, atMost: 1e6)), .defaulted("5"),
              "Its demand on release, relative to the most popular catalog title."),
    ])

    static let placement = Schema([
        Field("plans", .choice(["daily", "off"]), .defaulted("daily"),
              "`daily`: each PoP gets a plan of what to hold, ranked by forecast demand, every day when its fill window opens (Open Connect-style). `off`: storage is an LRU cache."),
        Field("onMiss", .choice(["off", "immediate", "queued"]), .defaulted("off"),
              "What a miss does besides fetching the segment upstream: `off` nothing (plans decide); `immediate` pulls the whole file in at any hour, as a fill job at the head of the PoP's fill queue (it starts when a fill server is free); `queued` queues a fill job for the window."),
        Field("windowStart", .timeOfDay, .defaulted("02:00"), "Local time the fill window opens (and the day's plan is made)."),
        Field("windowEnd", .timeOfDay, .defaulted("14:00"),
              "Local time the fill window closes; fills still running pause until the next window. Equal to windowStart: always open."),
        Field("forecastHalfLife", .quantity(.duration, .positive), .defaulted("2 d"),
              "Half-life of the demand forecast (an exponentially weighted average of what each PoP was asked for)."),
        Field("planStorage", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("100%"),
              "Share of a PoP's storage plans may use; the rest caches what misses pull in (with onMiss)."),
        Field("churnMargin", .quantity(.fraction, .range(0, 10)), .defaulted("5%"),
              "A held file stays in the plan unless a newcomer's demand per byte is higher by more than this: fewer fills for the same offload."),
        Field("queueLimit", .integer(minimum: 1, maximum: 100_000_000), .defaulted("100000"),
              "Fill jobs a PoP's queue holds; beyond, new jobs are dropped (and counted) until the next plan."),
        Field("maxReplicas", .integer(minimum: 1, maximum: 64), .defaulted("4"),
              "Most servers of a PoP that hold copies of one file (popular files get more, for their load)."),
        Field("peakToMean", .quantity(.number, .range(1, 1_000)), .defaulted("2"),
              "A file's forecast peak rate over its daily mean, to size its replicas."),
        Field("holdingBonus", .quantity(.duration, .range(0, 60)), .defaulted("30 ms"),
              "Steering: how much farther (round trip) a PoP holding the title may be and still be chosen over one lacking it."),
        Field("detectionDelay", .quantity(.duration, .range(0, 86_400)), .defaulted("30 s"),
              "Steering: how long after a PoP fails it stops sending new sessions there (sessions already there fail over at once)."),
        Field("loadPenalty", .quantity(.duration, .range(0, 60)), .defaulted("10 ms"),
              "Steering: round trip added per unit of a PoP's utilisation, so that of two near PoPs the less loaded wins."),
    ])

    static let compare = Schema([
        Field("label", .identifier, .required, "Names the other run in the report, e.g. fill-on-miss."),
        Field("set", .list(.text, minimumCount: 1), .required,
              "Overrides, as for --set: [\"placement.plans=off\", \"placement.onMiss=immediate\"]."),
    ])

    static let pop = Schema(idKey: "id", [
        Field("id", .identifier, .required, "Names the PoP; faults refer to it."),
        Field("region", .reference("regions"), .required, "The region the PoP sits in and mainly serves."),
        Field("servers", .integer(minimum: 1, maximum: 1_000_000), .defaulted("1"), "Appliances (servers) at the site."),
        Field("storage", .quantity(.dataSize, .positive), .required,
              "Storage of the whole site, e.g. 280 TB. Not scaled by sampling: what fits depends on the catalog, not on how many users are simulated."),
        Field("egress", .quantity(.dataRate, .positive), .required, "Egress capacity of the whole site, e.g. 400 Gbps (scaled by 1/sampling)."),
        Field("rtt", .quantity(.duration, .range(0, 60)), .defaulted("10 ms"), "Round-trip time from the region's users."),
        Field("fillRate", .quantity(.dataRate, .positive), .defaulted("1.2 Gbps"),
              "How fast one server fills a file from upstream (Open Connect: up to 1.2 Gbps per appliance)."),
        Field("healthThreshold", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("90%"),
              "Egress utilisation above which steering sends new sessions to the next PoP (a health miss)."),
        Field("parent", .reference("pops"), .optional, "A parent tier: misses are looked up there before the origin."),
    ], check: { pop in
        if !pop["parent"].isAbsent && pop["parent"].text == pop["id"].text {
            return [RecordProblem(key: "parent", "a PoP cannot be its own parent")]
        }
        return []
    })

    static let origin = Schema([
        Field("regions", .list(.reference("regions"), minimumCount: 0), .defaulted("[]"),
              "Regions holding a replica of the catalog (empty: the first region). A PoP reads from the nearest replica."),
        Field("egress", .quantity(.dataRate, .positive), .defaulted("100 Gbps"), "Egress capacity of each replica (scaled by 1/sampling)."),
        Field("firstByteLatency", .quantity(.duration, .range(0, 60)), .defaulted("50 ms"), "Time to first byte of a read."),
        Field("onOverload", .choice(["queue", "fail"]), .defaulted("queue"),
              "At full egress, `queue`: reads share the capacity and slow down; `fail`: new reads fail and the player retries after a second."),
    ])

    static let access = Schema(idKey: "name", [
        Field("name", .identifier, .required, "Names the access class (home broadband, mobile, evening Wi-Fi…)."),
        Field("share", .quantity(.fraction, .nonNegative), .required, "Fraction of users on this kind of connection."),
        Field("bandwidth", .distribution(.dataRate, .range(10_000, 1e12)), .optional,
              "A user's mean last-mile throughput (a property of the user); needed unless the class plays traces."),
        Field("variation", .choice(["constant", "markov", "traces"]), .defaulted("markov"),
              "`constant`: the user's bandwidth for the whole session. `markov`: a two-state (Gilbert–Elliott) process around it: good and bad spells of exponential length, the throughput redrawn every `step` around its state's level, normalised so that the user's mean is `bandwidth` (docs/world.md, \"The last mile\"). `traces`: each session plays one of the `traces` files, from a random offset, looping."),
        Field("goodPeriod", .quantity(.duration, .above(0, atMost: 86_400)), .defaulted("60 s"), "markov: mean length of a good spell."),
        Field("badPeriod", .quantity(.duration, .above(0, atMost: 86_400)), .defaulted("5 s"), "markov: mean length of a bad spell."),
        Field("badThroughput", .quantity(.fraction, .range(0, 1)), .defaulted("25%"), "markov: a bad spell's throughput over a good spell's."),
        Field("jitter", .quantity(.number, .range(0, 3)), .defaulted("0.3"),
              "markov: lognormal sigma of each step's throughput around its state's level."),
        Field("step", .quantity(.duration, .range(0.01, 3_600)), .defaulted("1 s"), "markov: how long the throughput holds before it is redrawn."),
        Field("badRtt", .quantity(.duration, .range(0, 60)), .defaulted("0 ms"), "markov: round trip a bad spell adds to every request."),
        Field("traces", .text, .optional,
              "traces: a trace file or a folder of them, relative to the scenario file: Sabre's JSON (`.json`: `{duration_ms, bandwidth_kbps, latency_ms}` periods), Pensieve's cooked traces (`time_s throughput_Mbps` per line) or Mahimahi's (a delivery time in ms per line, 1500 bytes each). Scenarios/traces/ ships a set."),
    ], check: { access in
        var problems: [RecordProblem] = []
        let traces = access["variation"].text == "traces"
        if traces && access["traces"].isAbsent { problems.append(RecordProblem(key: "traces", "variation: traces needs the trace file or folder")) }
        if !traces && !access["traces"].isAbsent { problems.append(RecordProblem(key: "traces", "is read only with variation: traces")) }
        if !traces && access["bandwidth"].isAbsent { problems.append(RecordProblem(key: "bandwidth", "is needed unless the class plays traces")) }
        return problems
    })

    static let plan = Schema(idKey: "name", [
        Field("name", .identifier, .required, "Names the plan."),
        Field("share", .quantity(.fraction, .nonNegative), .required, "Fraction of users on the plan."),
        Field("maxHeight", .integer(minimum: 1, maximum: 100_000), .required, "The tallest picture the plan allows, e.g. 1080."),
    ])

    static let device = Schema(idKey: "name", [
        Field("name", .identifier, .required, "Names the device class."),
        Field("share", .quantity(.fraction, .nonNegative), .required, "Fraction of users whose device is of this class."),
        Field("manifest", .choice(["hls", "dash"]), .required, "The manifest format the device's player reads."),
        Field("maxHeight", .integer(minimum: 1, maximum: 100_000), .defaulted("2160"), "The tallest picture the device shows."),
        Field("player", .choice(PlayerProfile.names), .optional,
              "The player profile the device runs (docs/abr.md: its adaptation and abandonment rules); clients.abr when absent."),
    ])

    static let clients = Schema([
        Field("peakConcurrency", .quantity(.fraction, .range(1e-6, 1)), .defaulted("5%"),
              "The fraction of users streaming at the peak (seed 000: 5%, 10M of 200M)."),
        Field("peakScope", .choice(["global", "regional"]), .defaulted("global"),
              "`global`: one scale for all regions, so the sum over regions peaks at peakConcurrency of all users (regional peaks do not align). `regional`: each region peaks at peakConcurrency (times its engagement) of its own users."),
        Field("watchDuration", .distribution(.duration, .above(0, atMost: 30 * 86_400)), .defaulted("{lognormal: {median: 40 min, sigma: 0.8}}"),
              "How long a user means to watch; a session ends there or at the end of the title."),
        Field("access", .records(access, minimumCount: 1), .defaulted("""
            [{name: broadband, share: 60%, bandwidth: {lognormal: {median: 40 Mbps, sigma: 0.8}}, goodPeriod: 120 s, badPeriod: 3 s, badThroughput: 25%, jitter: 0.25},
             {name: mobile, share: 25%, bandwidth: {lognormal: {median: 10 Mbps, sigma: 1.0}}, goodPeriod: 30 s, badPeriod: 10 s, badThroughput: 5%, jitter: 0.5, badRtt: 80 ms},
             {name: eveningWifi, share: 15%, bandwidth: {lognormal: {median: 6 Mbps, sigma: 0.8}}, goodPeriod: 60 s, badPeriod: 15 s, badThroughput: 10%, jitter: 0.4, badRtt: 30 ms}]
            """), "Users' last-mile classes: the share of users on each, their mean bandwidth, and how it varies during a session (docs/world.md, \"The last mile\")."),
        Field("plans", .records(plan, minimumCount: 1), .defaulted("""
            [{name: basic, share: 30%, maxHeight: 480}, {name: standard, share: 45%, maxHeight: 1080}, {name: premium, share: 25%, maxHeight: 2160}]
            """), "Subscription plans and the picture they allow (seed 002: BASIC, STANDARD, PREMIUM)."),
        Field("devices", .records(device, minimumCount: 1), .defaulted("""
            [{name: tv, share: 55%, manifest: dash, player: bba}, {name: mobile, share: 30%, manifest: hls, maxHeight: 1080, player: throughput},
             {name: web, share: 15%, manifest: dash, maxHeight: 1080, player: dashjs}]
            """), "Device classes: the manifest format their player reads, the picture they show and the player profile they run (docs/world.md, \"Players\")."),
        Field("abr", .choice(PlayerProfile.names), .defaulted("bba"),
              "The player profile of devices that do not name one (docs/abr.md): bba (the buffer-based algorithm Netflix published), dashjs, sabre-default, robust-mpc…; the scenario's maxBuffer and startupBuffer apply to every profile."),
        Field("maxBuffer", .quantity(.duration, .above(0, atMost: 3_600)), .defaulted("30 s"),
              "Buffer the player fills before it waits (seed 001: up to 30 s)."),
        Field("startupBuffer", .quantity(.duration, .above(0, atMost: 3_600)), .defaulted("4 s"), "Buffer needed before playback starts."),
        Field("apiLatency", .distribution(.duration, .range(0, 60)), .defaulted("{lognormal: {median: 80 ms, sigma: 0.5}}"),
              "The playback API's response time: manifest and ranked PoP list."),
        Field("startupPatience", .distribution(.duration, .above(0, atMost: 3_600)), .defaulted("{lognormal: {median: 12 s, sigma: 0.6}}"),
              "How long a user waits for the first frame before giving up (abandonment before start)."),
        Field("failoverRetries", .integer(minimum: 0, maximum: 100), .defaulted("5"),
              "A player whose PoP or origin fails tries again (the next PoP in its list) this many times, waiting failoverBackoff, doubled each time; then the session ends, lost."),
        Field("failoverBackoff", .quantity(.duration, .above(0, atMost: 60)), .defaulted("1 s"), "A player's first wait before it fails over."),
        Field("crossRegionRtt", .quantity(.duration, .range(0, 60)), .defaulted("20 ms"),
              "Round-trip time added when a PoP or origin is in another region, plus crossRegionRttPerHour for each hour of time-zone difference."),
        Field("crossRegionRttPerHour", .quantity(.duration, .range(0, 10)), .defaulted("8 ms"),
              "Extra round-trip time per hour of time-zone difference between regions: a stand-in for distance."),
    ], check: { clients in
        var problems: [RecordProblem] = []
        let watch = clients["watchDuration"].distribution.distribution.mean
        if !watch.isFinite {
            problems.append(RecordProblem(key: "watchDuration", "needs a finite mean (a pareto shape above 1), to calibrate demand"))
        } else if watch < 10 {
            // Concurrency is calibrated: sessions start at concurrency / mean watch per second.
            problems.append(RecordProblem(key: "watchDuration", "needs a mean of at least 10 s, got \(Quantity.approximate(watch, as: .duration)): the calibrated demand would start a session per simulated user every few seconds"))
        }
        for key in ["plans", "devices", "access"] {
            let total = clients[key].list.reduce(0) { $0 + $1["share"].value }
            if abs(total - 1) > 1e-6 {
                problems.append(RecordProblem(key: key, "shares must add up to 100%, they add up to \(Quantity.format(total, as: .fraction))"))
            }
        }
        let maxBuffer = clients["maxBuffer"].value, startup = clients["startupBuffer"].value
        if startup > maxBuffer {
            problems.append(RecordProblem(key: "startupBuffer", "must not exceed maxBuffer (\(Quantity.format(maxBuffer, as: .duration)))"))
        }
        return problems
    })

    static let activity = Schema([
        Field("heartbeatInterval", .quantity(.duration, .range(1, 3_600)), .defaulted("10 s"),
              "How often a playing client reports its position (seed 001: every few seconds)."),
        Field("batchInterval", .quantity(.duration, .range(1, 86_400)), .defaulted("1 min"),
              "How often a client sends what it gathered (heartbeats travel as one record per batch)."),
        Field("partitions", .integer(minimum: 1, maximum: 65_536), .defaulted("64"),
              "Partitions of the activity log (partitioned by profile), each read by its own aggregator."),
        Field("partitionThroughput", .quantity(.eventRate, .range(1.0 / 3_600, 1e12)), .defaulted("20k/s"),
              "Events per second one partition accepts (scaled by 1/sampling)."),
        Field("consumerRate", .quantity(.eventRate, .range(1.0 / 3_600, 1e12)), .defaulted("25k/s"),
              "Events per second one partition's aggregator reads (scaled by 1/sampling)."),
        Field("retention", .quantity(.duration, .positive), .defaulted("1 d"),
              "How long the log keeps records; records not read by then are lost (and counted)."),
        Field("clientBuffer", .integer(minimum: 1, maximum: 100_000_000), .defaulted("1000"),
              "Events a client holds while it cannot send; beyond, the oldest are dropped (and counted)."),
        Field("appendTimeout", .quantity(.duration, .above(0, atMost: 3_600)), .defaulted("5 s"),
              "A partition further behind than this refuses appends, and the client retries."),
        Field("retryDelay", .quantity(.duration, .range(0.001, 3_600)), .defaulted("2 s"), "A client's first retry; each next one waits twice as long, up to a minute."),
        Field("ackLoss", .quantity(.fraction, .range(0, 1)), .defaulted("0.1%"),
              "Share of appends whose acknowledgement is lost: the client sends them again (at-least-once delivery)."),
        Field("allowedLateness", .quantity(.duration, .range(0, 366 * 86_400)), .defaulted("5 min"),
              "Events older than the watermark by up to this are still applied; later ones are counted as late."),
        Field("trendingWindow", .quantity(.duration, .range(60, 366 * 86_400)), .defaulted("1 h"), "Trending per region: tumbling windows of this length."),
        Field("topN", .integer(minimum: 1, maximum: 1_000), .defaulted("10"), "Entries per list in the published data sets."),
        Field("coWatchWindow", .quantity(.duration, .above(0, atMost: 366 * 86_400)), .defaulted("1 d"),
              "Co-watched: two titles count when one profile plays both within this."),
        Field("historyLength", .integer(minimum: 1, maximum: 100_000), .defaulted("50"), "Watch-history entries kept per profile."),
        Field("publishPeriod", .quantity(.duration, .range(60, 366 * 86_400)), .defaulted("1 h"),
              "How often the recommendation data sets are published (into the report folder, datasets/)."),
        Field("datasetProfiles", .integer(minimum: 0, maximum: 1_000_000_000), .defaulted("1000"),
              "Profiles listed in each published continue-watching and history file (the lowest ids); the meta file states the total."),
        Field("pausesPerHour", .quantity(.number, .range(0, 3_600)), .defaulted("1"),
              "Pause and resume events per hour of play (events only: playback does not pause in the model)."),
        Field("seeksPerHour", .quantity(.number, .range(0, 3_600)), .defaulted("0.5"),
              "Seek events per hour of play (events only: playback does not jump in the model)."),
        Field("ratingShare", .quantity(.fraction, .range(0, 1)), .defaulted("5%"), "Share of sessions that end with a rating."),
        Field("recordBytes", .quantity(.dataSize, .range(1, 1e6)), .defaulted("100 B"),
              "Bytes one record takes in the log (seed 000: 0.1 KB)."),
    ])

    static let faultTypes = ["popDown", "popDegraded", "originDown", "originSlow", "linkDegraded",
                             "controlPlaneOutage", "controlPlaneSlow", "ingestOutage", "surge",
                             "instanceLoss", "cacheFlush", "shardDown", "shardSlow", "dependencySlow", "retryStorm"]
    /// Fault types that need `controlPlane:`.
    static let controlPlaneFaults = ["instanceLoss", "cacheFlush", "shardDown", "shardSlow", "dependencySlow", "retryStorm"]

    static let fault = Schema([
        Field("type", .choice(faultTypes), .required,
              "What fails: a PoP (down, or degraded: some servers lost), an origin region (down, or slow), the link between a region and a PoP, the playback API of a region (down, or slow; with controlPlane:, the control plane hosted there), the activity log (some partitions refuse appends), or demand (a surge). With controlPlane: a pool's instances (instanceLoss), a cache (cacheFlush: emptied, cold), a database shard (shardDown, shardSlow), a service, cache or database made slow (dependencySlow), or clients retrying at once (retryStorm)."),
        Field("pop", .reference("pops"), .optional, "The PoP (popDown, popDegraded, linkDegraded). For random popDown/popDegraded, leave it out to strike a random PoP each time."),
        Field("region", .reference("regions"), .optional,
              "The region: of the origin replica (originDown, originSlow), of the users (linkDegraded, controlPlaneOutage, controlPlaneSlow, retryStorm), of the control-plane copy struck (instanceLoss, cacheFlush, shardDown, shardSlow, dependencySlow; absent: every copy)."),
        Field("regions", .list(.reference("regions"), minimumCount: 0), .defaulted("[]"), "surge: the regions whose demand rises (empty: all)."),
        Field("at", .quantity(.duration, .range(0, 366 * 86_400)), .required, "When it starts, after the scenario start (random faults: from when they may strike)."),
        Field("duration", .quantity(.duration, .above(0, atMost: 366 * 86_400)), .optional, "How long it lasts; absent means until the end (required for random faults)."),
        Field("lost", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("50%"),
              "popDegraded: share of the PoP's servers lost, with their egress, fill capacity and the files only they held. instanceLoss: share of the pool's instances lost (at least one)."),
        Field("latencyFactor", .quantity(.number, .range(1, 1_000)), .defaulted("5"),
              "originSlow: first-byte latency multiplied by this; shardSlow, dependencySlow: service times multiplied by this."),
        Field("rtt", .quantity(.duration, .range(0, 60)), .defaulted("50 ms"), "linkDegraded: round trip added."),
        Field("throughput", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("50%"),
              "linkDegraded: share of each flow's throughput left (less bandwidth, or packet loss)."),
        Field("latency", .quantity(.duration, .range(0, 3_600)), .defaulted("5 s"), "controlPlaneSlow: added to every playback API response."),
        Field("partitions", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("100%"),
              "ingestOutage: share of the log's partitions that refuse appends (the lowest-numbered)."),
        Field("title", .integer(minimum: 0, maximum: 100_000_000), .optional,
              "surge: the title whose demand rises (a release night); absent, all demand rises (a flash crowd)."),
        Field("multiplier", .quantity(.number, .range(1, 1_000)), .defaulted("3"), "surge: demand multiplied by this."),
        Field("target", .identifier, .optional,
              "instanceLoss, cacheFlush, shardDown, shardSlow, dependencySlow: the service, cache or database (an id under controlPlane)."),
        Field("shard", .integer(minimum: 0, maximum: 100_000), .optional, "shardDown, shardSlow: the shard (from 0); absent, shard 0."),
        Field("attempts", .integer(minimum: 1, maximum: 100), .optional,
              "retryStorm: attempts each failed request makes, at once, without backoff or retry budget (a client release that retries in a tight loop); absent, 5."),
        Field("perDay", .quantity(.number, .above(0, atMost: 1_000)), .optional,
              "Strike at random, this many times per day on average (Poisson, from the fault injector's own stream), each lasting `duration`."),
    ], check: { fault in
        let type = fault["type"].text
        let random = !fault["perDay"].isAbsent
        var problems: [RecordProblem] = []
        let needsPop = ["popDown", "popDegraded", "linkDegraded"].contains(type) && !(random && type != "linkDegraded")
        let needsRegion = ["originDown", "originSlow", "controlPlaneOutage", "controlPlaneSlow", "linkDegraded"].contains(type)
        if needsPop && fault["pop"].isAbsent { problems.append(RecordProblem(key: nil, "a \(type) fault needs 'pop'")) }
        if needsRegion && fault["region"].isAbsent { problems.append(RecordProblem(key: nil, "a \(type) fault needs 'region'")) }
        if random && fault["duration"].isAbsent {
            problems.append(RecordProblem(key: "perDay", "a random fault needs 'duration' (how long each strike lasts)"))
        }
        return problems
    })

    static let execution = Schema([
        Field("partitions", .choice(["one", "popTrees"]), .defaulted("one"),
              "one: a single event loop, the exact model. popTrees: one partition per PoP tree (a hub, the sites below it and the regions they serve), each with its own event loop on the worker threads; clients are steered within their partition, origin capacity is shared out and the activity log merged at synchronisation points (docs/performance.md). Results depend on this, not on --threads."),
        Field("syncInterval", .quantity(.duration, .range(0.001, 60)), .defaulted("1 s"),
              "With popTrees: simulated time between synchronisation points (how stale a partition's view of the shared origin and log may be)."),
        Field("fidelity", .choice(["segment", "hybrid"]), .defaulted("segment"),
              "segment: every segment of every session on the event queue, the reference. hybrid: sessions whose outcome cannot change (playing, buffer high, no fault, a hit at their PoP, a link with headroom) advance a window of segments in one event, booked as the segment model books them (docs/world.md, Fidelity; vodsim check-fidelity measures the difference)."),
        Field("hybrid", .object(hybrid), .defaulted("{}"), "With hybrid fidelity: when a session is steady, and for how long at a time."),
    ])

    static let hybrid = Schema([
        Field("horizon", .quantity(.duration, .range(1, 3_600)), .defaulted("1 min"),
              "The longest window of segments a steady session advances in one event (it re-checks at the window's end)."),
        Field("minBuffer", .quantity(.fraction, .range(0, 1)), .defaulted("50%"),
              "A steady session's buffer stays at least this share of its player's maximum buffer after every segment; below, the session is exact."),
        Field("linkUtilisation", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("95%"),
              "A session is steady only while its PoP's link is used below this share of its capacity, counting burstSigmas standard deviations of the bursts steady sessions would send."),
        Field("burstSigmas", .quantity(.number, .range(0, 10)), .defaulted("3"),
              "How many standard deviations of the steady sessions' download bursts (which their mean load smooths out) count on top of a link's load."),
    ])

    static let cost = Schema([
        Field("currency", .identifier, .defaulted("USD"),
              "The currency every price here is in: a label on every amount, never converted."),
        Field("egress", .object(costEgress), .defaulted("{}"),
              "Transfer prices by source; a source without a price costs nothing."),
        Field("storage", .object(costStorage), .defaulted("{}"), "Storage prices."),
        Field("popEgressPerGbpsMonth", .quantity(.number, .nonNegative), .defaulted("0"),
              "The price of a Gbps of a PoP's configured egress capacity (its ports, a transit commitment), per month (730 h)."),
        Field("appliances", .object(costAppliances), .defaulted("{}"),
              "What each PoP server (appliance) costs: its price amortised, and its power."),
        Field("originRequests", .quantity(.number, .nonNegative), .defaulted("0"),
              "The price of 1,000 requests the origin serves (a miss's segment, each transfer of a fill)."),
    ])

    static let costEgress = Schema([
        Field("originToInternet", .object(egressPrice), .optional,
              "Bytes origin replicas send to PoPs for their users' misses (cloud egress to the internet)."),
        Field("originFill", .object(egressPrice), .optional, "Bytes origin replicas send to fill PoPs."),
        Field("interPop", .object(egressPrice), .optional,
              "Bytes between PoPs: a tier above serving a miss, peer and tier fills."),
        Field("popToUsers", .object(egressPrice), .optional,
              "Bytes PoPs deliver to their users (transit; nothing for appliances embedded in ISPs)."),
    ])

    static let egressPrice = Schema([
        Field("perGB", .quantity(.number, .nonNegative), .optional, "Billed per byte: the price of a GB (10^9 bytes)."),
        Field("perMbpsMonth", .quantity(.number, .nonNegative), .optional,
              "Billed 95/5, as transit is: the price of a Mbps of the 95th percentile of the 5-minute average rates, per month (730 h), pro rata over the run."),
    ], check: { price in
        price["perGB"].isAbsent == price["perMbpsMonth"].isAbsent
            ? [RecordProblem(key: nil, "expected exactly one of perGB (billed per byte) or perMbpsMonth (billed 95/5)")] : []
    })

    static let costStorage = Schema([
        Field("popPerTBMonth", .quantity(.number, .nonNegative), .defaulted("0"),
              "The price of a TB (10^12 bytes) of a PoP's configured storage, per month (730 h)."),
        Field("originPerTBMonth", .quantity(.number, .nonNegative), .defaulted("0"),
              "The price of a TB stored at the origin, per month: the catalog at its nominal bit rates, once per replica."),
    ])

    static let costAppliances = Schema([
        Field("price", .quantity(.number, .nonNegative), .defaulted("0"), "The price of one server."),
        Field("amortisationMonths", .quantity(.number, .positive), .defaulted("36"),
              "Months over which a server's price is spread (a month is 730 h)."),
        Field("powerWatts", .quantity(.number, .nonNegative), .defaulted("0"), "A server's mean power draw, watts."),
        Field("electricityPerKWh", .quantity(.number, .nonNegative), .defaulted("0"), "The price of a kWh."),
    ])

    static let metrics = Schema([
        Field("bucket", .quantity(.duration, .range(1, 86_400)), .defaulted("1 min"),
              "Width of the report's time-series buckets."),
    ])
}
