import Resilience
import SimCore
import World

extension ResolvedScenario {
    /// The `controlPlane:` section as the world's configuration (nil when absent).
    func controlPlaneConfiguration(regionIDs: [String]) -> ControlPlaneConfiguration? {
        let cp = root["controlPlane"]
        guard !cp.isAbsent else { return nil }
        func pool(_ v: Resolved) -> ControlPlaneConfiguration.Pool {
            .init(instances: Int(v["instances"].integer), concurrency: Int(v["concurrency"].integer),
                  queueLimit: v["queueLimit"].isAbsent ? nil : Int(v["queueLimit"].integer),
                  serviceTime: v["serviceTime"].distribution.distribution,
                  balancing: ControlPlaneConfiguration.Balancing(rawValue: v["balancing"].text)!)
        }
        let services = cp["services"].list.map { ControlPlaneConfiguration.Service(name: $0["id"].text, pool: pool($0)) }
        let caches = cp["caches"].list.map {
            ControlPlaneConfiguration.Cache(name: $0["id"].text, keys: ControlPlaneConfiguration.KeySpace(rawValue: $0["keys"].text)!,
                                            capacityKeys: $0["capacity"].value, ttl: $0["ttl"].isAbsent ? nil : SimDuration(seconds: $0["ttl"].value),
                                            pool: pool($0), backing: controlPlaneTarget($0["backing"].text)!)
        }
        let databases = cp["databases"].list.map {
            ControlPlaneConfiguration.Database(name: $0["id"].text, shards: Int($0["shards"].integer), pool: pool($0))
        }
        let classes = cp["classes"].list.map { c -> ControlPlaneConfiguration.RequestClass in
            let r = c["retries"]
            let fallbacks = c["fallbacks"].list.map(\.text)
            return .init(name: c["id"].text, trigger: ControlPlaneConfiguration.Trigger(rawValue: c["trigger"].text)!, perTrigger: c["perTrigger"].value,
                         priority: Int(c["priority"].integer), slo: SimDuration(seconds: c["slo"].value), timeout: SimDuration(seconds: c["timeout"].value),
                         retry: RetryPolicy(attempts: Int(r["attempts"].integer), baseSeconds: r["backoff"].value, multiplier: r["multiplier"].value,
                                            capSeconds: r["cap"].value, jitter: RetryPolicy.Jitter(rawValue: r["jitter"].text)!),
                         stages: c["calls"].list.map { stage in
                             stage.list.map { .init(target: controlPlaneTarget($0.text)!, fallback: fallbacks.contains($0.text) ? .staticResponse : .none) }
                         },
                         readsDatasets: c["readsDatasets"].boolean)
        }
        let k = cp["controls"]
        let on = k["enabled"].boolean
        let limit = k["limit"]
        let controls = ControlPlaneConfiguration.Controls(
            retryBudget: on && k["retryBudget"]["enabled"].boolean
                ? RetryBudget(maxTokens: k["retryBudget"]["maxTokens"].value, tokenRatio: k["retryBudget"]["tokenRatio"].value) : nil,
            breaker: on && k["breaker"]["enabled"].boolean
                ? CircuitBreaker(window: Int(k["breaker"]["window"].integer), minimumCalls: Int(k["breaker"]["minimumCalls"].integer),
                                 failureRatio: k["breaker"]["failureRatio"].value, openSeconds: k["breaker"]["open"].value,
                                 probes: Int(k["breaker"]["probes"].integer)) : nil,
            limit: on && limit["enabled"].boolean
                ? .init(algorithm: limit["algorithm"].text == "aimd"
                            ? .aimd(latencyThresholdSeconds: limit["latencyThreshold"].value, backoffRatio: limit["backoffRatio"].value)
                            : .gradient(tolerance: limit["tolerance"].value, smoothing: limit["smoothing"].value),
                        maxFactor: limit["maxFactor"].value) : nil,
            shedding: on && k["shedding"]["enabled"].boolean ? PriorityShedder(shares: k["shedding"]["shares"].list.map(\.value)) : nil)
        return ControlPlaneConfiguration(regions: cp["regions"].list.map { regionIDs.firstIndex(of: $0.text)! },
                                         clientRtt: SimDuration(seconds: cp["clientRtt"].value), services: services, caches: caches,
                                         databases: databases, classes: classes, controls: controls, exactFraction: cp["exactFraction"].value)
    }

    /// A service, cache or database of the control plane by its id.
    func controlPlaneTarget(_ id: String) -> ControlPlaneConfiguration.Target? {
        let cp = root["controlPlane"]
        if let i = cp["services"].list.firstIndex(where: { $0["id"].text == id }) { return .service(i) }
        if let i = cp["caches"].list.firstIndex(where: { $0["id"].text == id }) { return .cache(i) }
        if let i = cp["databases"].list.firstIndex(where: { $0["id"].text == id }) { return .database(i) }
        return nil
    }
}
