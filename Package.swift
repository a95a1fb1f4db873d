// swift-tools-version: 6.0
// vodsim: a deterministic discrete-event simulator of a global video-on-demand platform.
// Module map and import rules: docs/architecture.md (imports point downward only).
import PackageDescription

/// Expensive invariant audits (queue structure walks, cross-checks) compile into debug builds, the
/// ones the tests use, through `VODSIM_CHECKS`; cheap preconditions are always on.
///
/// The tests run whole scenarios, tens of times slower unoptimised: the scripts build debug with
/// `-Xswiftc -O` (optimised, audits on). The flag is given on the command line, not here, so that
/// the package has no unsafe flags and its library products can be depended on.

let package = Package(
    name: "vodsim",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vodsim", targets: ["vodsim"]),
        .library(name: "SimCore", targets: ["SimCore"]),
        .library(name: "Stochastics", targets: ["Stochastics"]),
        .library(name: "Metrics", targets: ["Metrics"]),
        .library(name: "World", targets: ["World"]),
        .library(name: "Reports", targets: ["Reports"]),
        .library(name: "Scenario", targets: ["Scenario"]),
        .library(name: "Manifests", targets: ["Manifests"]),
        .library(name: "ABR", targets: ["ABR"]),
        .library(name: "Placement", targets: ["Placement"]),
        .library(name: "Activity", targets: ["Activity"]),
        .library(name: "Resilience", targets: ["Resilience"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // GNU Scientific Library: distributions, quantile functions, statistics.
        .systemLibrary(
            name: "CGSL",
            pkgConfig: "gsl",
            providers: [.apt(["libgsl-dev"])]
        ),
        // Processor hints (prefetch) for the event loop; header-only C.
        .target(name: "CHints"),
        // Clock, event queue, run loop, random streams. Knows nothing of video.
        .target(name: "SimCore", dependencies: ["CHints"], swiftSettings: [.define("VODSIM_CHECKS", .when(configuration: .debug))]),
        // Distributions and arrival processes over SimCore's random streams, GSL-backed.
        .target(name: "Stochastics", dependencies: ["SimCore", "CGSL"]),
        // Counters, gauges, HdrHistogram latency recorders, fixed-bucket time series.
        .target(name: "Metrics", dependencies: ["SimCore", .product(name: "Histogram", package: "hdrhistogram-swift")]),
        // Real code: imports nothing of the simulator (time and randomness arrive as plain values),
        // no unsafe flags, each a library product another package can depend on.
        // HLS (RFC 8216) and DASH (ISO/IEC 23009-1) manifests: build, serialise, parse.
        .target(name: "Manifests"),
        // Adaptation algorithms (throughput, BBA, BOLA), the player state machine, QoE, trace replay.
        .target(name: "ABR"),
        // Per-site placement plans from forecast demand, rendezvous hashing across a site's
        // servers, steering ranks.
        .target(name: "Placement"),
        // The activity event schema and the aggregation jobs (exactly once, event-time windows with
        // a watermark, the recommendation data sets).
        .target(name: "Activity"),
        // Overload controls: retry policies with backoff and jitter, a retry budget, circuit
        // breakers, adaptive concurrency limits, priority load shedding, fallbacks.
        .target(name: "Resilience"),
        // The simulated platform: components (sites, links, origin, fills, activity clients and log,
        // faults) around the event dispatch and the session lifecycle. docs/architecture.md.
        .target(name: "World", dependencies: ["CHints", "SimCore", "Stochastics", "Metrics", "Manifests", "ABR", "Placement", "Activity", "Resilience"]),
        // The report value's writers (JSON, CSV, Markdown, HTML and SVG), comparison, atomic output.
        .target(name: "Reports"),
        // The scenario language (YAML, units, validation with file:line:key errors, defaults,
        // overrides), building a World, running a scenario, assembling its report; sweeps.
        .target(name: "Scenario", dependencies: ["World", "Reports", "SimCore", "Stochastics", "Metrics", "ABR", "Activity", "Manifests", "Resilience",
                                                 .product(name: "Yams", package: "Yams")]),
        // The command-line tool: argument parsing, progress, exit codes; no model logic.
        .executableTarget(
            name: "vodsim",
            dependencies: [
                "SimCore", "Stochastics", "World", "Reports", "Scenario", "Manifests", "ABR",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "StochasticsTests", dependencies: ["Stochastics", "SimCore", "CGSL"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "SimCore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "ManifestsTests", dependencies: ["Manifests"], exclude: ["Schemas"]),
        .testTarget(name: "ABRTests", dependencies: ["ABR"], exclude: ["Sabre"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement"]),
        .testTarget(name: "ActivityTests", dependencies: ["Activity"]),
        .testTarget(name: "ResilienceTests", dependencies: ["Resilience"]),
        .testTarget(name: "WorldTests", dependencies: ["World", "SimCore", "Stochastics", "Metrics", "Manifests", "ABR", "Activity"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "World", "Reports", "SimCore", "Stochastics", "Metrics"]),
        // Runs the built `vodsim` binary and checks what users see: output, errors, exit codes.
        .testTarget(name: "CLITests", dependencies: ["vodsim", "Reports"], exclude: ["Golden"]),
        // Queueing models run on the engine and checked against theory (M/M/1, Erlang C, Little).
        .testTarget(name: "ValidationTests", dependencies: ["SimCore", "Stochastics", "Metrics"]),
    ],
    swiftLanguageModes: [.v6]
)
