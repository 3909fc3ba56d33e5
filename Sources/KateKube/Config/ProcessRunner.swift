import KateNet

/// Runs a short-lived helper process (an exec credential plugin) to completion: stdout and stderr read concurrently
/// (a plugin that fills one pipe must not deadlock on the other), terminated when `timeout` passes. Through KateNet's
/// `ChildProcessRunner` (posix_spawn), not Foundation's `Process`, whose `run()` crashes now and then on Linux when many
/// descriptors are open (a webhook with its connections refreshing a token); see `ChildProcessRunner`.
enum ProcessRunner {
    struct Output: Sendable {
        var exitCode: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]
    }

    static func run(executable: String, arguments: [String], environment: [String: String], timeout: Duration) async throws -> Output {
        let output: ChildProcessRunner.Output
        do {
            output = try await ChildProcessRunner.run(executable: executable, arguments: arguments, environment: environment, timeout: timeout)
        } catch {
            throw KubeError.credentials("cannot start \(executable): \(error)")
        }
        var stderr = output.stderr
        if output.timedOut { stderr += Array(" (killed after \(timeout))".utf8) }
        return Output(exitCode: output.status, stdout: output.stdout, stderr: stderr)
    }
}
