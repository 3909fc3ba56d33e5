import KateNet
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Children still running, killed by an exit hook: a test process that ends early (a crash in
/// another test, an `exit` from the harness) must not leave registries behind.
private let liveChildren = Mutex<Set<Int32>>([])
private let installExitHook: Void = {
    atexit {
        liveChildren.withLock { pids in
            for pid in pids { kill(pid, SIGTERM) }
        }
    }
}()

/// A child process that is always killed: by `terminate()`, or at the latest when this object goes
/// away, so a failing test never leaves a registry running. KateNet's `SpawnedProcess` (posix_spawn),
/// not Foundation's `Process`, which crashes in Swift 6.3.1 (swift-corelibs-foundation PR #5472).
final class ChildProcess: Sendable {
    private let child: SpawnedProcess

    /// stdout and stderr are appended to `outputPath`; stdin is /dev/null.
    init(executable: String, arguments: [String], environment: [String: String], outputPath: String) throws {
        child = try SpawnedProcess(
            executable: executable, arguments: arguments, environment: environment, stdout: .file(outputPath), stderr: .standardOutput)
        _ = installExitHook
        let pid = child.pid
        liveChildren.withLock { _ = $0.insert(pid) }
    }

    var isRunning: Bool { child.isRunning }
    var pid: Int32 { child.pid }

    /// SIGTERM, SIGKILL after 5 s, reaped.
    func terminate() {
        let pid = child.pid
        liveChildren.withLock { _ = $0.remove(pid) }
        child.terminateBlocking(grace: .seconds(5))
    }

    deinit { terminate() }
}
