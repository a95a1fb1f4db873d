/// The default scenario, compiled into the binary so that `vodsim run` and `vodsim validate` work
/// from any folder: the text of Scenarios/smoke.yaml, byte for byte (a test compares them; when
/// one changes, copy it into the other).
public enum BuiltInScenario {
    /// How messages and the run header name it.
    public static let name = "built-in Scenarios/smoke.yaml"

    public static let text = #"""
# The default scenario (`vodsim run` with no file) and the first CI scenario: small and fast, yet it
# exercises the world end to end: two tiers of PoPs, placement plans that hold the popular part of
# the catalog with room left to pull in misses, an edge that runs near full at the evening peak
# (health misses, steering), and an origin behind it all. (Plans are made in the night's fill
# window, outside these two hours: Scenarios/fill-window.yaml shows them at work.)
name: smoke
description: >-
  Two regions six hours apart with 10k users each, over the two hours from 19:00 in us-east
  (01:00 in eu-west). New York's edge PoP reads through a regional hub; Amsterdam's reads from
  the origin in us-east.
seed: 42
start: 2026-11-21T00:00:00Z   # 19:00 local in us-east (UTC-5), 01:00 in eu-west (UTC+1)
duration: 2 h

regions:
  - id: us-east
    utcOffset: -5 h
    users: 10k
  - id: eu-west
    utcOffset: 1 h
    users: 10k

catalog:
  titles: 5k

pops:
  - id: nyc-1                  # the edge us-east users are steered to first
    region: us-east
    servers: 4                 # fill four files at a time, 1.2 Gbps each
    storage: 8 TB              # the popular part of the catalog
    egress: 3 Gbps             # near full at the us-east peak
    parent: us-hub
  - id: us-hub                 # a regional hub: misses at nyc-1 read through it
    region: us-east
    servers: 4
    storage: 60 TB
    egress: 20 Gbps
    rtt: 25 ms
  - id: ams-1
    region: eu-west
    servers: 4
    storage: 8 TB
    egress: 3 Gbps

origin:
  regions: [us-east]
  egress: 5 Gbps

placement:
  planStorage: 80%             # the plan fills 80% of each PoP; misses are pulled into the rest
  onMiss: immediate

clients:
  peakConcurrency: 5%          # seed 000: 5% of users stream at the peak
  watchDuration: {lognormal: {median: 40 min, sigma: 0.8}}

metrics:
  bucket: 1 min

"""#
}
