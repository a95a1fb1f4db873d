/// The vodsim version stamped into every report: same scenario + seed + this version ⇒ same report.
public enum VodsimVersion {
    public static let string = "0.1.0"
}

/// The version of report.json's layout; bumped when keys move or change meaning.
public enum ReportSchema {
    public static let version: Int64 = 2
}
