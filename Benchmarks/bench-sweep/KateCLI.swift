import Foundation
import KateNet

/// The shipped `kate` binary, run as users run it (release build, default flags), under GNU time.
enum KateCLI {
    struct Result {
        var seconds: Double
        var cpuSeconds: Double
        var maxRSSKiB: Int
        var exitCode: Int32
        /// Killed by a signal (a crash): its number.
        var signal: Int32?
        var stdout: String
        var stderr: String
        /// The report's summary line (the table's last line, or the JSON document's `summary`).
        var summary: String {
            if stdout.hasPrefix("{"), let object = try? JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any] {
                return object["summary"] as? String ?? ""
            }
            return stdout.split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    /// `KATE_BINARY`, else the `kate` next to this executable.
    static var binary: String? {
        let sibling = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kate").path
        let candidate = ProcessInfo.processInfo.environment["KATE_BINARY"] ?? sibling
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }

    static func sweep(_ binary: String, kubeconfig: String, registryConfig: String, extra: [String] = []) throws -> Result {
        let timing = FileManager.default.temporaryDirectory.appendingPathComponent("bench-sweep-time-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: timing) }
        // posix_spawn (KateNet), not Foundation's `Process`, which crashes in Swift 6.3.1 (swift-corelibs-foundation
        // PR #5472). GNU time measures and reports the kate child itself, so how time is started changes no figure.
        let child = try SpawnedProcess(
            executable: "/usr/bin/time",
            arguments: ["-f", "%e %U %S %M %x", "-o", timing, binary, "sweep", "--kubeconfig", kubeconfig, "--registry-config", registryConfig] + extra)
        // Drain stderr concurrently: a chatty run must not block on a full pipe.
        let errorReader = BackgroundReader(child, .standardError)
        let printed = child.readToEnd(.standardOutput)
        _ = child.waitBlocking()
        let stderr = errorReader.wait()
        // GNU time prepends "Command exited with non-zero status N" / "Command terminated by signal N".
        let lines = ((try? String(contentsOfFile: timing, encoding: .utf8)) ?? "").split(separator: "\n")
        let fields = (lines.last ?? "").split(whereSeparator: \.isWhitespace)
        let signal = lines.first { $0.hasPrefix("Command terminated by signal") }.flatMap { Int32($0.split(separator: " ").last ?? "") }
        func field(_ index: Int) -> Double { fields.count > index ? Double(fields[index]) ?? -1 : -1 }
        return Result(
            seconds: field(0), cpuSeconds: field(1) + field(2), maxRSSKiB: Int(field(3)), exitCode: Int32(field(4)), signal: signal,
            stdout: String(decoding: printed, as: UTF8.self), stderr: stderr)
    }
}

/// Reads one of a child's pipes to its end on a thread of its own.
final class BackgroundReader: @unchecked Sendable {
    // @unchecked: `bytes` is written once on the reader thread before `done` is signalled, read only after `wait`.
    private let done = DispatchSemaphore(value: 0)
    private var bytes: [UInt8] = []

    init(_ child: SpawnedProcess, _ stream: SpawnedProcess.Stream) {
        Thread.detachNewThread { [self] in
            bytes = child.readToEnd(stream)
            done.signal()
        }
    }

    func wait() -> String {
        done.wait()
        return String(decoding: bytes, as: UTF8.self)
    }
}
