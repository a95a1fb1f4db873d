// swift-tools-version: 6.0
// vodsim: a deterministic discrete-event simulator of a global video-on-demand platform.
// Module map and import rules: ../shared/DESIGN.md and README.md (imports point downward only).
import PackageDescription

/// Expensive invariant audits (queue structure walks, cross-checks) compile into debug builds, the
/// ones the tests use, through `VODSIM_CHECKS`; cheap preconditions are always on.
///
/// The simulation modules are optimised in debug builds too: the tests run whole scenarios, tens of
/// times slower unoptimised, and the audits above stay on.
let optimisedInDebug = SwiftSetting.unsafeFlags(["-O"], .when(configuration: .debug))

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
        .target(name: "SimCore", dependencies: ["CHints"], swiftSettings: [.define("VODSIM_CHECKS", .when(configuration: .debug)), optimisedInDebug]),
        // Distributions and arrival processes over SimCore's random streams, GSL-backed.
        .target(name: "Stochastics", dependencies: ["SimCore", "CGSL"], swiftSettings: [optimisedInDebug]),
        // Counters, gauges, HdrHistogram latency recorders, fixed-bucket time series.
        .target(
            name: "Metrics",
            dependencies: ["SimCore", .product(name: "Histogram", package: "hdrhistogram-swift")],
            swiftSettings: [optimisedInDebug]
        ),
        // Real code: imports nothing of the simulator (time and randomness arrive as plain values).
        // HLS (RFC 8216) and DASH (ISO/IEC 23009-1) manifests: build, serialise, parse.
        .target(name: "Manifests", swiftSettings: [optimisedInDebug]),
        // Adaptation algorithms (throughput, BBA, BOLA), the player state machine, QoE, trace replay.
        .target(name: "ABR", swiftSettings: [optimisedInDebug]),
        // Real code: per-site placement plans from forecast demand, rendezvous hashing across a
        // site's servers, steering ranks.
        .target(name: "Placement", swiftSettings: [optimisedInDebug]),
        // Real code: the activity event schema and the aggregation jobs (exactly once, event-time
        // windows with a watermark, the recommendation data sets).
        .target(name: "Activity", swiftSettings: [optimisedInDebug]),
        // The simulated platform: regions, demand, catalog, sessions (PoPs, origin, pipeline to come).
        .target(name: "World", dependencies: ["CHints", "SimCore", "Stochastics", "Metrics", "Manifests", "ABR", "Placement", "Activity"],
                swiftSettings: [optimisedInDebug]),
        // The report value, its writers, hashing and atomic output.
        .target(name: "Reports", dependencies: ["Metrics"]),
        // The scenario language: YAML, units, validation with file:line:key errors, defaults,
        // overrides, building a World and assembling its report.
        .target(
            name: "Scenario",
            dependencies: ["World", "Reports", "SimCore", "Stochastics", "Metrics", "Manifests", "ABR",
                           .product(name: "Yams", package: "Yams")]
        ),
        // The command-line tool: argument parsing, progress, exit codes; no model logic.
        .executableTarget(
            name: "vodsim",
            dependencies: [
                "SimCore", "Stochastics", "Metrics", "World", "Reports", "Scenario", "Manifests", "ABR", "Activity",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "SimCoreTests", dependencies: ["SimCore"]),
        .testTarget(name: "StochasticsTests", dependencies: ["Stochastics", "SimCore", "CGSL"]),
        .testTarget(name: "MetricsTests", dependencies: ["Metrics", "SimCore"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "ManifestsTests", dependencies: ["Manifests"]),
        .testTarget(name: "ABRTests", dependencies: ["ABR"]),
        .testTarget(name: "PlacementTests", dependencies: ["Placement"]),
        .testTarget(name: "ActivityTests", dependencies: ["Activity"]),
        .testTarget(name: "WorldTests", dependencies: ["World", "SimCore", "Stochastics", "Metrics"],
                    swiftSettings: [.unsafeFlags(["-O"])]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenario", "World", "Reports", "SimCore", "Stochastics"]),
        // Runs the built `vodsim` binary and checks what users see: output, errors, exit codes.
        .testTarget(name: "CLITests", dependencies: ["vodsim"], exclude: ["Golden"]),
        // Queueing models run on the engine and checked against theory (M/M/1, Erlang C, Little).
        // Optimised even in debug builds: these runs simulate millions of events.
        .testTarget(name: "ValidationTests", dependencies: ["SimCore", "Stochastics", "Metrics"],
                    swiftSettings: [.unsafeFlags(["-O"])]),
    ],
    swiftLanguageModes: [.v6]
)
