import Foundation
import Synchronization

/// Runs a short-lived helper process to completion off the cooperative thread pool, reading
/// stdout and stderr concurrently (a plugin that fills one pipe must not deadlock on the other)
/// and terminating it when `timeout` passes.
enum ProcessRunner {
    struct Output: Sendable {
        var exitCode: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]
    }

    /// `Process` and `Pipe` are not Sendable; each instance is created here and then only touched
    /// by the dispatch blocks below, which the group orders before the continuation resumes.
    private final class Handles: @unchecked Sendable {
        let process = Process()
        let stdout = Pipe()
        let stderr = Pipe()
        var out = Data()
        var err = Data()
        /// Set by the timeout timer, read after exit: the two run on different threads.
        let killed = Mutex(false)
    }

    static func run(executable: String, arguments: [String], environment: [String: String], timeout: Duration) async throws -> Output {
        let h = Handles()
        h.process.executableURL = URL(fileURLWithPath: executable)
        h.process.arguments = arguments
        h.process.environment = environment
        h.process.standardOutput = h.stdout
        h.process.standardError = h.stderr
        h.process.standardInput = FileHandle.nullDevice
        do {
            try h.process.run()
        } catch {
            throw KubeError.credentials("cannot start \(executable): \(error.localizedDescription)")
        }
        let seconds = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        // Weak: the timer must not keep the process, its pipes and its output alive for the whole
        // timeout after the plugin has exited (found by the LeakSanitizer run).
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [weak h] in
            if let h, h.process.isRunning {
                h.killed.withLock { $0 = true }
                h.process.terminate()
            }
        }
        return await withCheckedContinuation { continuation in
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group) { h.out = h.stdout.fileHandleForReading.readDataToEndOfFile() }
            DispatchQueue.global().async(group: group) { h.err = h.stderr.fileHandleForReading.readDataToEndOfFile() }
            group.notify(queue: .global()) {
                h.process.waitUntilExit()
                let timedOut = h.killed.withLock { $0 }
                var stderr = Array(h.err)
                if timedOut { stderr += Array(" (killed after \(timeout))".utf8) }
                continuation.resume(returning: Output(exitCode: h.process.terminationStatus, stdout: Array(h.out), stderr: stderr))
            }
        }
    }
}
