import Foundation
import Testing
@testable import Scenario

/// The first seven lines of a minimal scenario, before its PoPs.
let regionsOnly = """
name: t
start: 2026-11-21T00:00:00Z
duration: 1 h
regions:
  - id: us-east
    utcOffset: -5 h
    users: 20k

"""

/// A minimal valid scenario (nine lines); tests add or break one thing at a time.
let minimal = regionsOnly + "pops:\n  - {id: edge, region: us-east, storage: 10 TB, egress: 10 Gbps}\n"

/// The problems of scenario `text` as printed lines.
func problems(_ text: String, overrides: [String] = []) -> [String] {
    do {
        _ = try ScenarioLoader.parse(text: text, file: "s.yaml", overrides: overrides)
        return []
    } catch {
        return error.problems.map(\.description)
    }
}

@Suite("Scenario errors")
struct ScenarioErrorTests {
    @Test("A minimal scenario is valid")
    func minimalIsValid() {
        #expect(problems(minimal) == [])
    }

    @Test("An unknown key is reported with the nearest known key")
    func unknownKey() {
        #expect(problems(minimal + "metrics:\n  buckett: 5 min\n") ==
            ["s.yaml:11:3: metrics.buckett: unknown key 'buckett'; did you mean 'bucket'?"])
        #expect(problems(minimal + "zzz: 1\n") ==
            ["s.yaml:10:1: zzz: unknown key 'zzz' (keys here: name, description, seed, start, duration, sampling, regions, catalog, pops, origin, clients, placement, activity, faults, metrics, execution, compare, controlPlane, cost)"])
    }

    @Test("A value in the wrong unit is named as what it is")
    func wrongUnit() {
        let text = regionsOnly + "pops:\n  - {id: p, region: us-east, storage: 10 TB, egress: 400 GB}\n"
        #expect(problems(text) == ["s.yaml:9:54: pops[0].egress: expected a data rate such as 400 Gbps, got 400 GB, which is a data size"])
        #expect(problems(minimal.replacingOccurrences(of: "duration: 1 h", with: "duration: 1 hour")) ==
            ["s.yaml:3:11: duration: expected a duration such as 4 s, got 1 hour: unknown unit 'hour'; did you mean 'h'?"])
        #expect(problems(minimal.replacingOccurrences(of: "duration: 1 h", with: "duration: 90")) ==
            ["s.yaml:3:11: duration: expected a duration such as 4 s: 90 needs a unit (d, h, min, s, ms, us)"])
    }

    @Test("Negative and zero capacities are refused")
    func nonPositiveCapacity() {
        let text = regionsOnly + """
            pops:
              - {id: p, region: us-east, storage: 0 TB, egress: 40 Gbps}
              - {id: q, region: us-east, storage: 1 TB, egress: -4 Gbps}

            """
        #expect(problems(text) == [
            "s.yaml:9:39: pops[0].storage: must be > 0, got 0 TB",
            "s.yaml:10:53: pops[1].egress: must be > 0, got -4 Gbps",
        ])
    }

    @Test("A missing required key is named with what it should hold")
    func missingKey() {
        #expect(problems(minimal.replacingOccurrences(of: "start: 2026-11-21T00:00:00Z\n", with: "")) ==
            ["s.yaml:1:1: start: missing required key 'start' (a UTC date-time such as 2026-11-21T18:00:00Z)"])
        #expect(problems(regionsOnly + "pops:\n  - {id: p, region: us-east, egress: 4 Gbps}\n") ==
            ["s.yaml:9:5: pops[0].storage: missing required key 'storage' (a data size such as 280 TB)"])
    }

    @Test("A PoP referring to an unknown region is refused, with a suggestion")
    func unknownRegion() {
        #expect(problems(regionsOnly + "pops:\n  - {id: p, region: us-eats, storage: 1 TB, egress: 4 Gbps}\n") ==
            ["s.yaml:9:21: pops[0].region: unknown region 'us-eats'; did you mean 'us-east'?"])
    }

    @Test("A fault referring to an unknown PoP is refused")
    func unknownPop() {
        let text = regionsOnly + """
            pops:
              - {id: nyc-1, region: us-east, storage: 1 TB, egress: 4 Gbps}
            faults:
              - {type: popDown, pop: lon-1, at: 10 min}

            """
        #expect(problems(text) == ["s.yaml:11:26: faults[0].pop: unknown pop 'lon-1' (pops: nyc-1)"])
    }

    @Test("Duplicated ids are refused, naming the first")
    func duplicatedIds() {
        let text = regionsOnly + "  - {id: us-east, utcOffset: 1 h, users: 5k}\n" + "pops:\n  - {id: p, region: us-east, storage: 1 TB, egress: 4 Gbps}\n"
        #expect(problems(text) == ["s.yaml:8:10: regions[1].id: duplicated id 'us-east' (also regions[0])"])
    }

    @Test("Malformed YAML is reported at the place the parser stopped")
    func malformed() {
        #expect(problems("name: t\nregions: [a, b\n") ==
            ["s.yaml:3:1: malformed YAML: a list opened with '[' is not closed with ']'"])
        #expect(problems("name: t\nname: u\n") == ["s.yaml:1:1: duplicated key 'name' in one mapping"])
        #expect(problems("- a\n- b\n") ==
            ["s.yaml:1:1: a scenario is a mapping of keys (name, start, duration, regions, ...), not a list"])
    }

    @Test("A file that does not exist, and an empty file, say so")
    func missingAndEmptyFiles() throws {
        #expect(throws: ScenarioErrors.self) { try ScenarioLoader.load(path: "/nonexistent/x.yaml") }
        do {
            _ = try ScenarioLoader.load(path: "/nonexistent/x.yaml")
        } catch {
            #expect(error.problems.map(\.description) == ["/nonexistent/x.yaml: no such file"])
        }
        #expect(problems("") == ["s.yaml: the file is empty; a scenario needs at least name, start, duration and regions"])
        #expect(problems("# only a comment\n") == ["s.yaml: the file is empty; a scenario needs at least name, start, duration and regions"])
    }

    @Test("Several problems in one file are all reported, in file order")
    func severalProblems() {
        let text = """
            name: bad name
            start: 2026-13-01T00:00:00Z
            duration: -1 h
            sampling: 0
            regions:
              - id: a
                utcOffset: 20 h
                users: many
            clients:
              peakConcurrency: 150%
              peakScope: planet
              watchDuration: {lognormal: {median: 40 min, sigma: -0.5}}

            """
        #expect(problems(text) == [
            "s.yaml:1:1: pops: missing required key 'pops' (a list of mappings)",
            "s.yaml:1:7: name: expected an identifier (letters, digits, '.', '_', '-'; starting with a letter or digit), got 'bad name'",
            "s.yaml:2:8: start: expected a UTC date-time such as 2026-11-21T18:00:00Z, got 2026-13-01T00:00:00Z",
            "s.yaml:3:11: duration: must be > 0, got -1 h",
            "s.yaml:4:11: sampling: must be >= 1, got 0",
            "s.yaml:7:16: regions[0].utcOffset: must be <= 14 h, got 20 h",
            "s.yaml:8:12: regions[0].users: expected a count such as 1.2M, got many",
            "s.yaml:10:20: clients.peakConcurrency: must be <= 100%, got 150%",
            "s.yaml:11:14: clients.peakScope: expected one of global, regional, got planet",
            "s.yaml:12:54: clients.watchDuration.lognormal.sigma: must be > 0, got -0.5",
        ])
    }

    @Test("Distribution mistakes name the distribution and parameter")
    func distributions() {
        func with(_ d: String) -> [String] { problems(minimal + "clients:\n  watchDuration: \(d)\n") }
        #expect(with("{lognorm: {median: 40 min, sigma: 0.8}}") ==
            ["s.yaml:11:19: clients.watchDuration.lognorm: unknown distribution 'lognorm'; did you mean 'lognormal'? (known: constant, uniform, exponential, lognormal, gamma, pareto, empirical)"])
        #expect(with("{exponential: {mean: 30 Mbps}}") ==
            ["s.yaml:11:39: clients.watchDuration.exponential.mean: expected a duration such as 4 s, got 30 Mbps, which is a data rate"])
        #expect(with("{uniform: {low: -1 min, high: 3 min}}") ==
            ["s.yaml:11:18: clients.watchDuration: every value must be > 0, but this distribution can give -1 min"])
        #expect(with("{pareto: {shape: 0.9, minimum: 1 min}}") ==
            ["s.yaml:11:18: clients.watchDuration: at most one draw in a million may exceed 30 d, but this distribution gives 3220 d or more that often; narrow it"])
        #expect(with("{pareto: {shape: 1, minimum: 1 s}}") ==
            ["s.yaml:11:18: clients.watchDuration: needs a finite mean (a pareto shape above 1), to calibrate demand"])
        #expect(with("{exponential: {mean: 30 s, extra: 1}}") ==
            ["s.yaml:11:45: clients.watchDuration.exponential.extra: unknown key 'extra' (keys here: mean)"])
        #expect(with("40 min") == [])
        #expect(with("{empirical: [[1 min, 0], [30 min, 0.5], [3 h, 1]]}") == [])
        #expect(with("{empirical: [[1 min, 0.5], [30 min, 0.4], [3 h, 1]]}") ==
            ["s.yaml:11:30: clients.watchDuration.empirical: points[1].probability: must be >= the previous probability, got 0.4"])
    }

    @Test("A scenario name cannot climb out of the reports folder")
    func nameIsAFolderName() {
        #expect(problems(minimal.replacingOccurrences(of: "name: t", with: "name: ..")) ==
            ["s.yaml:1:7: name: expected an identifier (letters, digits, '.', '_', '-'; starting with a letter or digit), got '..'"])
    }

    @Test("A ladder must rise from rung to rung")
    func ladderOrder() {
        #expect(problems(minimal + "catalog:\n  ladder: [{bitrate: 2 Mbps, resolution: 640x360}, {bitrate: 1 Mbps, resolution: 320x240}]\n") ==
            ["s.yaml:11:11: catalog.ladder: bit rates must rise from rung to rung, lowest first"])
    }

    @Test("Fault types need their targets")
    func faultTargets() {
        #expect(problems(minimal + "faults:\n  - {type: popDown, at: 5 min}\n") ==
            ["s.yaml:11:5: faults[0]: a popDown fault needs 'pop'"])
    }

    @Test("A comparison's overrides are checked with the scenario, at their place in the file")
    func comparisonOverrides() {
        #expect(problems(minimal + "compare:\n  label: other\n  set: [placement.plans=weekly]\n") ==
            ["s.yaml:12:9: compare.set[0]: placement.plans: expected one of daily, off, got weekly"])
        #expect(problems(minimal + "compare:\n  label: other\n  set: [\"placement.plan=off\"]\n") ==
            ["s.yaml:12:9: compare.set[0]: placement.plan: unknown key 'plan'; did you mean 'plans'?"])
    }

    @Test("A scheduled release must fall within the release schedule and the run")
    func scheduledReleaseTime() {
        #expect(problems(minimal + "catalog:\n  newReleases:\n    scheduled: [{at: 2027-01-01T00:00:00Z}]\n") ==
            ["s.yaml:11:3: catalog: newReleases.scheduled[0].at: must be between 30 days before the start and the end of the run"])
        #expect(problems(minimal + "catalog:\n  newReleases:\n    scheduled: [{at: 2026-11-21T00:30:00Z, boost: 8}]\n") == [])
    }

    @Test("A wrong --set is reported as the override, not as the file")
    func overrideErrors() {
        #expect(problems(minimal, overrides: ["regions[0].users=-2"]) ==
            ["--set regions[0].users=-2: regions[0].users: must be >= 1, got -2"])
        #expect(problems(minimal, overrides: ["regions[3].users=2"]) ==
            ["--set regions[3].users=2: regions: has 1 element; there is no [3]"])
        #expect(problems(minimal, overrides: ["regions[eu].users=2"]) ==
            ["--set regions[eu].users=2: regions: has no element with id 'eu' (ids: us-east)"])
        #expect(problems(minimal, overrides: ["name"]) == ["--set name: expected key.path=value, e.g. regions[0].users=2M"])
        #expect(problems(minimal, overrides: ["clients.devices[watch].player=bba"]) ==
            ["--set clients.devices[watch].player=bba: clients.devices: has no element with name 'watch' (names: tv, mobile, web)"])
    }

    /// The file leaves `clients.devices` to its default: a --set into one element starts from the
    /// default list, finds the element by its name, and changes only that.
    @Test("A --set into a list the file leaves to its default changes one element of the default")
    func overrideIntoDefaultList() throws {
        let s = try ScenarioLoader.parse(text: minimal, file: "s.yaml",
                                         overrides: ["clients.devices[web].player=robust-mpc", "clients.access[mobile].badPeriod=20 s"])
        let world = s.worldConfiguration
        let devices = world.clients.devices
        #expect(devices.map(\.name) == ["tv", "mobile", "web"])
        #expect(devices.map(\.player) == ["bba", "throughput", "robust-mpc"])
        #expect(world.clients.access.map(\.name) == ["broadband", "mobile", "eveningWifi"])
        guard case let .markov(mobile) = world.clients.access[1].variation else { Issue.record("mobile is not markov"); return }
        #expect(mobile.badMean == .seconds(20))
    }
}
