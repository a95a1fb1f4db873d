import ArgumentParser
import Reports

/// The `vodsim` command line. Subcommands are thin: they parse, call a module, and print.
@main
struct VodsimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vodsim",
        abstract: "A deterministic discrete-event simulator of a global video-on-demand platform.",
        version: VodsimVersion.string,
        subcommands: [RunCommand.self, ValidateCommand.self, CompareCommand.self, FidelityCommand.self, SweepCommand.self, ManifestCommand.self, ABRCommand.self, BenchCommand.self],
        defaultSubcommand: nil
    )
}
