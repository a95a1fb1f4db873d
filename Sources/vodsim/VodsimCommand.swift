import ArgumentParser

/// The `vodsim` command line. Subcommands are thin: they parse, call a module, and print.
@main
struct VodsimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vodsim",
        abstract: "A deterministic discrete-event simulator of a global video-on-demand platform.",
        version: VodsimVersion.string,
        subcommands: [BenchCommand.self]
    )
}

/// The version stamped into every report; a report is reproducible from its scenario, seed and this.
enum VodsimVersion {
    static let string = "0.1.0"
}
