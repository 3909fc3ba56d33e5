import Foundation
import KubeTestServer

/// The literal `kate sweep --action=report`, run as users run it: a kubeconfig for the test API
/// server, a registry config marking the proxied registry as plain HTTP. Skipped (and said so)
/// when no `kate` binary sits next to this one.
enum KateCLI {
    struct Result {
        var seconds: Double
        var maxRSSKiB: Int
        var exitCode: Int32
        var summary: String
    }

    static var binary: String? {
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kate").path
        let candidate = ProcessInfo.processInfo.environment["KATE_BINARY"] ?? sibling
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static func run(_ binary: String, server: KubeTestServer, registry: String) throws -> Result {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sweep-cli-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let kubeconfig = directory.appendingPathComponent("kubeconfig").path
        let registryConfig = directory.appendingPathComponent("registries.json").path
        let timing = directory.appendingPathComponent("time").path
        let metrics = directory.appendingPathComponent("kate.prom").path
        try Data("""
            apiVersion: v1
            kind: Config
            clusters:
            - name: bench
              cluster:
                server: \(server.url)
                certificate-authority-data: \(Data(server.caPEM.utf8).base64EncodedString())
            users:
            - name: bench
              user:
                token: \(server.token)
            contexts:
            - name: bench
              context: {cluster: bench, user: bench}
            current-context: bench

            """.utf8).write(to: URL(fileURLWithPath: kubeconfig))
        try Data(#"{"registries": {"\#(registry)": {"plainHTTP": true}}}"#.utf8).write(to: URL(fileURLWithPath: registryConfig))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/time")
        process.arguments = [
            "-f", "%e %M", "-o", timing, binary, "sweep", "--action=report", "--exclude-namespace", "none", "--kubeconfig", kubeconfig,
            "--registry-config", registryConfig, "--log-level", "error", "--metrics-file", metrics,
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // GNU time prepends "Command exited with non-zero status 2" when the exit code is not 0.
        let lastLine = ((try? String(contentsOfFile: timing, encoding: .utf8)) ?? "").split(separator: "\n").last ?? ""
        let fields = lastLine.split(whereSeparator: \.isWhitespace)
        let summary = printed.split(separator: "\n").last.map(String.init) ?? ""
        let metricsLines = ((try? String(contentsOfFile: metrics, encoding: .utf8)) ?? "").split(separator: "\n").filter { $0.hasPrefix("kate_sweep_") }
        return Result(
            seconds: Double(fields.first ?? "") ?? -1, maxRSSKiB: Int(fields.dropFirst().first ?? "") ?? -1,
            exitCode: process.terminationStatus, summary: summary + " | metrics file: \(metricsLines.count) kate_sweep_ samples")
    }
}
