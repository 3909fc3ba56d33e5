import Foundation

/// The built `kate` executable for tests that run it: `KATE_BINARY` when it names one, else the one
/// next to the test bundle (a full `swift build`, or `KATE_ONLY=<Tests>,kate`).
public enum KateBinary {
    public static let path: String? = {
        if let given = ProcessInfo.processInfo.environment["KATE_BINARY"], FileManager.default.isExecutableFile(atPath: given) { return given }
        let candidate = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kate").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// Whether binary tests run: when it is there, and always under CI (CI=true), where a missing
    /// binary must fail them (`#require`), not skip them quietly.
    public static let testsRun = path != nil || ProcessInfo.processInfo.environment["CI"] == "true"
}
