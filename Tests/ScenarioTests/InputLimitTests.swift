import Foundation
import SimCore
import Stochastics
import Testing
@testable import Scenario

/// Every quantity has a range the model can handle, checked at validation; a scenario too large
/// for the machine fails there too; what is valid but probably unmeant is a warning.
@Suite("Scenario limits")
struct InputLimitTests {
    @Test("A quantity beyond what its kind can hold is refused with the key path, for every kind", arguments: [
        ("regions[0].users=1e19", "--set regions[0].users=1e19: regions[0].users: must be <= 10B, got 1e19"),
        ("catalog.titles=1e19", "--set catalog.titles=1e19: catalog.titles: must be <= 10M, got 1e19"),
        ("pops[0].storage=1e19 TB", "--set pops[0].storage=1e19 TB: pops[0].storage: must be <= 1000 PB (the largest data size vodsim models), got 1e19 TB"),
        ("pops[0].egress=1e19 Tbps", "--set pops[0].egress=1e19 Tbps: pops[0].egress: must be <= 1000 Tbps (the largest data rate vodsim models), got 1e19 Tbps"),
        ("pops[0].rtt=1e19 d", "--set pops[0].rtt=1e19 d: pops[0].rtt: must be <= 1 min, got 1e19 d"),
        ("activity.retention=1e300 s", "--set activity.retention=1e300 s: activity.retention: must be <= 3650 d (the largest duration vodsim models), got 1e300 s"),
        ("activity.partitionThroughput=1e20/s", "--set activity.partitionThroughput=1e20/s: activity.partitionThroughput: must be <= 1000B/s, got 1e20/s"),
        ("regions[0].engagement=1e300", "--set regions[0].engagement=1e300: regions[0].engagement: must be <= 1000, got 1e300"),
        ("clients.maxBuffer=1e12 s", "--set clients.maxBuffer=1e12 s: clients.maxBuffer: must be <= 1 h, got 1e12 s"),
        ("clients.startupBuffer=1e-9 s", "--set clients.startupBuffer=1e-9 s: clients.startupBuffer: must be 0 or at least 1 us (the model's resolution), got 1e-9 s"),
    ])
    func quantityRanges(override: String, message: String) {
        #expect(problems(minimal, overrides: [override]) == [message])
    }

    @Test("A fractional count where a whole number is meant is refused")
    func wholeCounts() {
        #expect(problems(minimal, overrides: ["regions[0].users=1.5"]) == ["--set regions[0].users=1.5: regions[0].users: must be a whole number, got 1.5"])
        #expect(problems(minimal, overrides: ["catalog.titles=2.5"]) == ["--set catalog.titles=2.5: catalog.titles: must be a whole number, got 2.5"])
        #expect(problems(minimal, overrides: ["regions[0].users=10.5k"]) == [])
    }

    @Test("A distribution whose tail leaves its key's range more than once in a million is refused; rarer draws are clamped")
    func distributionTails() throws {
        #expect(problems(minimal, overrides: ["clients.watchDuration={lognormal: {median: 40 min, sigma: 3}}"]) ==
            ["--set clients.watchDuration={lognormal: {median: 40 min, sigma: 3}}: clients.watchDuration: at most one draw in a million may exceed 30 d, but this distribution gives 43300 d or more that often; narrow it"])
        let access = "clients.access=[{name: a, share: 100%, bandwidth: {lognormal: {median: 20 Mbps, sigma: 2}}}]"
        #expect(problems(minimal, overrides: [access]) ==
            ["--set \(access): clients.access[0].bandwidth: at most one draw in a million may be below 10 kbps, but this distribution gives 1.49 kbps or less that often; narrow it"])
        // Within the rule, yet with a tail far beyond the range: every draw lands inside it.
        let s = try ScenarioLoader.parse(text: minimal, file: "s.yaml", overrides: ["clients.apiLatency={lognormal: {median: 10 ms, sigma: 1.8}}"])
        let latency = s.worldConfiguration.clients.apiLatency
        #expect(latency.quantile(1 - 1e-9) > 60)
        var stream = RandomStream(seed: 1, label: "test", id: 0)
        var largest = 0.0
        for _ in 0..<2_000_000 { largest = max(largest, latency.sample(&stream)) }
        #expect(largest <= 60)
    }

    @Test("A fault that starts at or after the end of the run is an error")
    func faultOutsideTheRun() {
        #expect(problems(minimal + "faults: [{type: popDown, pop: edge, at: 2 h, duration: 10 min}]\n") ==
            ["s.yaml:10:9: faults: [0].at: 2 h is at or after the end of the run (duration 1 h): the fault would never happen"])
        #expect(problems(minimal + "faults: [{type: popDown, pop: edge, at: 50 min}]\n") == [])
    }

    @Test("Players' buffers are checked against the segment length before a run, not by a crash in it")
    func bufferAgainstSegments() {
        #expect(problems(minimal, overrides: ["catalog.segmentDuration=100 ms"]) ==
            ["--set catalog.segmentDuration=100 ms: catalog: segmentDuration: with clients.maxBuffer 30 s and startupBuffer 4 s, the buffer may hold at most 31 segments of 100 ms"])
    }

    @Test("Too many buckets or publications are refused with the key to change")
    func bucketsAndPublications() {
        #expect(problems(minimal, overrides: ["duration=30 d", "metrics.bucket=1 s"]) ==
            ["--set metrics.bucket=1 s: metrics: bucket: 1 s gives 2592000 buckets over the run; at most 1,000,000: make it at least 3 s"])
        #expect(problems(minimal, overrides: ["duration=30 d", "activity.publishPeriod=1 min"]) ==
            ["--set activity.publishPeriod=1 min: activity: publishPeriod: 1 min publishes 43200 times over the run, each a folder of data sets in the report; at most 10,000"])
    }

    @Test("What is valid but probably unmeant is a warning: a region no PoP is in, a bucket longer than the run, a region sampled away")
    func warnings() throws {
        let text = minimal.replacingOccurrences(of: "    users: 20k\n", with: "    users: 20k\n  - {id: eu, utcOffset: 1 h, users: 5}\n")
        let s = try ScenarioLoader.parse(text: text, file: "s.yaml", overrides: ["metrics.bucket=2 h", "sampling=10"])
        #expect(s.warnings.map(\.description) == [
            "s.yaml:8:5: regions[1]: no PoP is in region eu: its users are steered to PoPs in other regions, with the cross-region round trip added",
            "s.yaml:8:37: regions[1].users: 5 users sampled 1 in 10 leave 0.5 of a simulated user: region eu is all but empty (lower `sampling`)",
            "--set metrics.bucket=2 h: metrics.bucket: 2 h is longer than the run (1 h): every time series has a single bucket",
        ])
        #expect(try ScenarioLoader.parse(text: minimal, file: "s.yaml").warnings.isEmpty)
    }

    @Test("A scenario too large for the machine names the memory it needs and the key that would fit it")
    func memoryEstimate() throws {
        let small = try ScenarioLoader.parse(text: minimal, file: "s.yaml")
        #expect(MemoryEstimate(small).problem(available: 8 * 1_073_741_824) == nil)
        let huge = try ScenarioLoader.parse(text: minimal, file: "s.yaml", overrides: ["regions[0].users=5B"])
        let problem = try #require(MemoryEstimate(huge).problem(available: 8 * 1_073_741_824))
        #expect(problem == "this run needs about 263 GiB of memory and the machine has 8.0 GiB (262 GiB for 250M simulated concurrent sessions and 272M users' activity); to fit, simulate fewer users: set `sampling` to 43 or more (now 1)")
        // The suggestion fits.
        let fixed = try ScenarioLoader.parse(text: minimal, file: "s.yaml", overrides: ["regions[0].users=5B", "sampling=43"])
        #expect(MemoryEstimate(fixed).problem(available: 8 * 1_073_741_824) == nil)
        let fine = try ScenarioLoader.parse(text: minimal, file: "s.yaml", overrides: ["duration=11 d", "metrics.bucket=1 s"])
        #expect(MemoryEstimate(fine).problem(available: 8 * 1_073_741_824)?.hasSuffix("to fit, set `metrics.bucket` to 2 s or more") == true)
    }

    @Test("YAML merge keys work, x- keys hold anchors, tags and second documents are refused in plain words")
    func yamlFeatures() throws {
        let merged = """
            name: t
            start: 2026-11-21T00:00:00Z
            duration: 1 h
            x-region: &region {utcOffset: -5 h, users: 20k}
            regions:
              - {<<: *region, id: us-east}
              - {<<: *region, id: us-west, utcOffset: -8 h}
            pops:
              - {id: edge, region: us-east, storage: 10 TB, egress: 10 Gbps}

            """
        let s = try ScenarioLoader.parse(text: merged, file: "s.yaml")
        #expect(s.root["regions"].list.map { $0["utcOffset"].value } == [-18_000, -28_800])
        #expect(s.root["regions"].list.map { $0["users"].value } == [20_000, 20_000])
        #expect(problems(minimal.replacingOccurrences(of: "name: t", with: "name: !secret t")) ==
            ["s.yaml:1:7: name: YAML tags such as !secret are not supported; remove it"])
        #expect(problems(minimal + "---\nname: u\n") ==
            ["s.yaml:10:1: malformed YAML: more than one YAML document ('---' after the first): a scenario is one document"])
        #expect(problems("name: t\n\tduration: 1 h\n") == ["s.yaml:2:1: malformed YAML: a tab character: YAML indents with spaces"])
    }
}
