#!/usr/bin/env python3
"""Runs Sabre (Spiteri, Sitaraman, Sparacio, MMSys 2018; github.com/UMass-LIDS/sabre) on vodsim's
own traces and movie and writes what it reports to Tests/ABRTests/Sabre/agreement.json, the data
the ABR agreement tests compare `vodsim abr --profile` with. Sabre itself is not part of vodsim:
give the path of its sabre.py.

    python3 scripts/sabre-agreement.py /path/to/sabre/src/sabre.py

Bit rate is Sabre's "total played bitrate" over the number of segments (the per-segment average,
which is vodsim's time-average bit rate for equal segments: Sabre's own "time average played
bitrate" divides by play time including stalls and the first download). Rebuffering is Sabre's
"total rebuffer" (stalls after the first segment, seconds).
"""
import json, os, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROFILES = {  # vodsim profile -> Sabre arguments
    "sabre-default": [],
    "sabre-bola-o": ["-ao"],
    "sabre-throughput": ["-a", "throughput"],
    "sabre-dynamicdash": ["-a", "dynamicdash"],
}
TRACES = ["Scenarios/abr/step-down.json"] + sorted(
    os.path.join("Scenarios/traces/commute", f) for f in os.listdir(os.path.join(ROOT, "Scenarios/traces/commute")) if f.endswith(".json"))
MOVIE = "Scenarios/abr/movie-4s.json"


def run(sabre, trace, extra):
    out = subprocess.run([sys.executable, sabre, "-n", os.path.join(ROOT, trace), "-m", os.path.join(ROOT, MOVIE)] + extra,
                         check=True, capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        if ":" in line:
            key, _, value = line.partition(":")
            try:
                values[key.strip()] = float(value)
            except ValueError:
                pass
    return values


def main():
    sabre = sys.argv[1]
    segments = len(json.load(open(os.path.join(ROOT, MOVIE)))["segment_sizes_bits"])
    cases = []
    for profile, extra in PROFILES.items():
        for trace in TRACES:
            v = run(sabre, trace, extra)
            cases.append({
                "profile": profile, "sabreArguments": extra, "network": trace, "movie": MOVIE,
                "averageBitrateKbps": round(v["total played bitrate"] / segments, 6),
                "rebufferSeconds": round(v["total rebuffer"], 6),
                "rebufferEvents": int(v["total rebuffer events"]),
                "totalBitrateChangeKbps": round(v["total bitrate change"], 6),
            })
    with open(os.path.join(ROOT, "Tests/ABRTests/Sabre/agreement.json"), "w") as f:
        json.dump({"source": "Sabre (github.com/UMass-LIDS/sabre, commit 09b03bb), run by scripts/sabre-agreement.py",
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
