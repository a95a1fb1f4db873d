#!/usr/bin/env python3
"""Writes Scenarios/traces/commute/: last-mile traces of a phone on a commute, in Sabre's JSON
format ({duration_ms, bandwidth_kbps, latency_ms} periods), made by a documented model rather than
measured (no measured set may be shipped here). Deterministic: the same files every time.

Model, per trace (a 5-minute ride, 1 s periods):
- the log of the throughput is an AR(1) process around ln(median) with a correlation of 0.9 per
  second and a stationary spread of sigma = 0.7 (cell load and signal change over tens of
  seconds), the median drawn per trace from a lognormal around 8 Mbit/s (sigma 0.5);
- tunnels and dead spots: starting at Poisson times (one per 90 s on average), 2-12 s at
  50 kbit/s;
- latency: 40 ms, plus up to 120 ms more as the throughput falls below 2 Mbit/s, 300 ms in a
  tunnel.
Run: python3 scripts/make-traces.py (from the repository's root).
"""
import json, math, os, random

OUT = os.path.join(os.path.dirname(__file__), "..", "Scenarios", "traces", "commute")
rng = random.Random(20261203)
os.makedirs(OUT, exist_ok=True)
for k in range(6):
    median = 8000 * math.exp(rng.gauss(0, 0.5))  # kbit/s
    phi, sigma = 0.9, 0.7
    x = rng.gauss(0, sigma)
    tunnel_left = 0
    periods = []
    for second in range(300):
        x = phi * x + rng.gauss(0, sigma * math.sqrt(1 - phi * phi))
        if tunnel_left == 0 and rng.random() < 1 / 90:
            tunnel_left = rng.randint(2, 12)
        if tunnel_left > 0:
            tunnel_left -= 1
            kbps, latency = 50, 300
        else:
            kbps = median * math.exp(x)
            latency = 40 + max(0.0, min(120.0, 120 * (1 - kbps / 2000)))
        periods.append({"duration_ms": 1000, "bandwidth_kbps": round(kbps, 1), "latency_ms": round(latency)})
    with open(os.path.join(OUT, f"commute-{k + 1:02d}.json"), "w") as f:
        json.dump(periods, f, separators=(",", ":"))
        f.write("\n")
