/// The scenario language's `controlPlane:` section (docs/control-plane.md).
extension ScenarioSchema {
    static let controlPlane = Schema([
        Field("regions", .list(.reference("regions"), minimumCount: 1), .required,
              "Regions that host a copy of the control plane (every service, cache and database below, in each). Users call the nearest; when it is down (a controlPlaneOutage in its region) they fail over to the next, with the extra round trip."),
        Field("clientRtt", .quantity(.duration, .range(0, 10)), .defaulted("40 ms"),
              "Round trip from a client to the control plane in its own region; regions farther away add clients.crossRegionRtt and its per-hour term."),
        Field("exactFraction", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("100%"),
              "Share of the simulated users whose requests are simulated call by call, against pools scaled to that share; the others' requests take the outcome and latency of a recent exact request of their class in their control-plane region (docs/control-plane.md, Scale)."),
        Field("services", .records(cpService, minimumCount: 0), .defaulted("[]"), "Service pools: the gateway, playback, home, search and the rest."),
        Field("caches", .records(cpCache, minimumCount: 0), .defaulted("[]"), "Look-aside cache clusters; a miss calls the backing service or database and fills the key."),
        Field("databases", .records(cpDatabase, minimumCount: 0), .defaulted("[]"), "Databases sharded by user id (rendezvous hashing)."),
        Field("classes", .records(cpClass, minimumCount: 1), .required, "Request classes: what sends them, what they call, their SLO and retries."),
        Field("controls", .object(cpControls), .defaulted("{}"), "The overload controls (the Resilience module): on by default; `enabled: false` turns them all off."),
    ], check: { cp in
        let names = (cp["services"].list + cp["caches"].list + cp["databases"].list).map { $0["id"].text }
        var seen: [String] = []
        for name in names {
            if seen.contains(name) { return [RecordProblem(key: nil, "services, caches and databases share the id \(name): ids must be unique across the three")] }
            seen.append(name)
        }
        for (i, cache) in cp["caches"].list.enumerated() where !names.contains(cache["backing"].text) || cache["backing"].text == cache["id"].text {
            return [RecordProblem(key: "caches", "[\(i)].backing: \(cache["backing"].text) is not another service, cache or database (one of \(names.joined(separator: ", ")))")]
        }
        var plays = 0
        for (i, c) in cp["classes"].list.enumerated() {
            if c["trigger"].text == "play" { plays += 1 }
            for (s, stage) in c["calls"].list.enumerated() {
                for target in stage.list where !names.contains(target.text) {
                    return [RecordProblem(key: "classes", "[\(i)].calls[\(s)]: \(target.text) is not a service, cache or database (one of \(names.joined(separator: ", ")))")]
                }
            }
            let called = c["calls"].list.flatMap(\.list).map(\.text)
            for f in c["fallbacks"].list where !called.contains(f.text) {
                return [RecordProblem(key: "classes", "[\(i)].fallbacks: \(f.text) is not called by this class")]
            }
        }
        if plays > 1 { return [RecordProblem(key: "classes", "at most one class has trigger: play (the play request on the video-start path)")] }
        return []
    })

    static let poolFields: [Field] = [
        Field("instances", .integer(minimum: 1, maximum: 10_000_000), .required, "Instances in each control-plane region, before sampling."),
        Field("concurrency", .integer(minimum: 1, maximum: 100_000), .defaulted("16"), "Calls one instance works on at once."),
        Field("queueLimit", .integer(minimum: 0, maximum: 100_000_000), .optional,
              "Calls an instance holds waiting; one more is rejected (0: no queue, an Erlang-B loss system). Absent: unbounded."),
        Field("serviceTime", .distribution(.duration, .range(0, 3_600)), .required, "Work per call, e.g. {exponential: {mean: 5 ms}}."),
        Field("balancing", .choice(["leastOutstanding", "roundRobin", "random"]), .defaulted("leastOutstanding"),
              "How calls are spread over instances: the less busy of two drawn at random, in turn, or at random."),
    ]

    static let cpService = Schema(idKey: "id", [Field("id", .identifier, .required, "The service's name.")] + poolFields)

    static let cpCache = Schema(idKey: "id", [
        Field("id", .identifier, .required, "The cache's name."),
        Field("keys", .choice(["user", "title"]), .required, "What it is keyed by: the user (profiles, history, home rows) or the title (metadata)."),
        Field("capacity", .quantity(.count, .positive), .required, "Keys held at once (least recently used beyond), before sampling."),
        Field("ttl", .quantity(.duration, .above(0, atMost: 366 * 86_400)), .optional, "How long an entry lives after it was filled; absent: until evicted."),
        Field("backing", .identifier, .required, "The service or database a miss calls."),
    ] + poolFields)

    static let cpDatabase = Schema(idKey: "id", [
        Field("id", .identifier, .required, "The database's name."),
        Field("shards", .integer(minimum: 1, maximum: 100_000), .defaulted("4"), "Shards, by user id (rendezvous hashing); `instances` is the replicas of each."),
    ] + poolFields)

    static let cpRetries = Schema([
        Field("attempts", .integer(minimum: 1, maximum: 100), .defaulted("3"), "Attempts in all, the first included (1: never retry)."),
        Field("backoff", .quantity(.duration, .range(0, 3_600)), .defaulted("100 ms"), "The first retry's backoff ceiling."),
        Field("multiplier", .quantity(.number, .range(1, 100)), .defaulted("2"), "Each further retry's ceiling is this times the last."),
        Field("cap", .quantity(.duration, .range(0, 3_600)), .defaulted("5 s"), "The largest backoff ceiling."),
        Field("jitter", .choice(["full", "equal", "none"]), .defaulted("full"),
              "full: uniform in [0, ceiling]; equal: in [ceiling/2, ceiling]; none: the ceiling."),
    ])

    static let cpClass = Schema(idKey: "id", [
        Field("id", .identifier, .required, "The class's name, e.g. home, search, play, progress."),
        Field("trigger", .choice(["appOpen", "play", "heartbeat", "sessionEnd"]), .required,
              "What sends it: a session beginning (the app opened), the play request (on the video-start path: its latency is part of the start time, and a failure makes the client ask again), each activity batch of a playing session (progress writes), or a session ending."),
        Field("perTrigger", .quantity(.number, .range(0, 1_000)), .defaulted("1"),
              "Requests per trigger: the whole part always, the fraction with that probability (0.3: 30% of triggers send one)."),
        Field("priority", .integer(minimum: 0, maximum: 9), .defaulted("1"),
              "0 is the most important (shed last): play 0, browsing 1, prefetch and logging 2."),
        Field("slo", .quantity(.duration, .above(0, atMost: 3_600)), .required, "The latency target the report measures against."),
        Field("timeout", .quantity(.duration, .above(0, atMost: 3_600)), .defaulted("2 s"), "Per attempt, at the client."),
        Field("retries", .object(cpRetries), .defaulted("{}"), "What the client does after a failed attempt."),
        Field("calls", .list(.list(.identifier, minimumCount: 1), minimumCount: 1), .required,
              "Stages in order, each a list of services, caches or databases called in parallel: [[gateway], [home], [history-cache, recommendations]]."),
        Field("fallbacks", .list(.identifier, minimumCount: 0), .defaulted("[]"),
              "Calls whose failure is answered with a static or cached response instead (a degraded success, counted as a fallback)."),
        Field("readsDatasets", .boolean, .defaulted("false"),
              "Whether its answers show the activity pipeline's published data sets (continue watching, trending); the report gives their age as users saw it."),
    ])

    static let cpControls = Schema([
        Field("enabled", .boolean, .defaulted("true"), "false turns every control below off (the uncontrolled baseline)."),
        Field("retryBudget", .object(cpBudget), .defaulted("{}"), "Clients' retry throttling, pooled per user region and class (gRPC's token bucket)."),
        Field("breaker", .object(cpBreaker), .defaulted("{}"), "A circuit breaker per control-plane region and pool."),
        Field("limit", .object(cpLimit), .defaulted("{}"), "An adaptive concurrency limit per instance."),
        Field("shedding", .object(cpShedding), .defaulted("{}"), "Priority load shedding under the adaptive limit."),
    ])

    static let cpBudget = Schema([
        Field("enabled", .boolean, .defaulted("true"), "Whether retries are throttled."),
        Field("maxTokens", .quantity(.number, .positive), .defaulted("100"), "The bucket's size: retries stop below half of it."),
        Field("tokenRatio", .quantity(.fraction, .range(0, 1)), .defaulted("10%"), "Tokens a success gives back (a failure takes one)."),
    ])

    static let cpBreaker = Schema([
        Field("enabled", .boolean, .defaulted("true"), "Whether calls to a failing pool fail fast."),
        Field("window", .integer(minimum: 1, maximum: 100_000), .defaulted("50"), "Outcomes of the last calls it counts."),
        Field("minimumCalls", .integer(minimum: 1, maximum: 100_000), .defaulted("20"), "Calls in the window before it may open."),
        Field("failureRatio", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("50%"), "Failed share that opens it."),
        Field("open", .quantity(.duration, .range(0, 3_600)), .defaulted("5 s"), "How long it stays open before probing."),
        Field("probes", .integer(minimum: 1, maximum: 1_000), .defaulted("5"), "Calls let through half-open; all must succeed to close it."),
    ], check: { b in
        b["minimumCalls"].integer > b["window"].integer ? [RecordProblem(key: "minimumCalls", "must be at most window (\(b["window"].integer))")] : []
    })

    static let cpLimit = Schema([
        Field("enabled", .boolean, .defaulted("true"), "Whether instances limit what they admit."),
        Field("algorithm", .choice(["gradient", "aimd"]), .defaulted("gradient"),
              "gradient: scale the limit by the least latency over the latest (Netflix's concurrency-limits); aimd: +1 per round of completions under latencyThreshold, × backoffRatio past it."),
        Field("maxFactor", .quantity(.number, .range(1, 1_000)), .defaulted("4"),
              "The limit starts at this many times the instance's concurrency and stays between the concurrency and that: an instance sheds only once it queues."),
        Field("tolerance", .quantity(.number, .range(1, 100)), .defaulted("2"), "gradient: latency allowed over the least seen before the limit shrinks."),
        Field("smoothing", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("20%"), "gradient: weight of each new estimate."),
        Field("latencyThreshold", .quantity(.duration, .above(0, atMost: 3_600)), .defaulted("100 ms"), "aimd: a completion slower than this backs off."),
        Field("backoffRatio", .quantity(.fraction, .above(0, atMost: 1)), .defaulted("90%"), "aimd: the limit's multiplier on a slow completion."),
    ])

    static let cpShedding = Schema([
        Field("enabled", .boolean, .defaulted("true"), "Whether the least important requests are turned away first."),
        Field("shares", .list(.quantity(.fraction, .above(0, atMost: 1)), minimumCount: 1), .defaulted("[100%, 85%, 60%]"),
              "Per priority (0 first), the share of the limit its requests may fill; non-increasing."),
    ], check: { s in
        let shares = s["shares"].list.map(\.value)
        return zip(shares, shares.dropFirst()).allSatisfy({ $0 >= $1 }) ? [] : [RecordProblem(key: "shares", "must not increase with the priority number")]
    })
}
