import Foundation
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
/// away, so a failing test never leaves a registry running.
final class ChildProcess: @unchecked Sendable {
    // @unchecked: Foundation's Process is not Sendable; every access below holds `lock`.
    private let process = Process()
    private let lock = NSLock()

    init(executable: String, arguments: [String], environment: [String: String], output: FileHandle) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        _ = installExitHook
        let pid = process.processIdentifier
        liveChildren.withLock { _ = $0.insert(pid) }
    }

    var isRunning: Bool { lock.withLock { process.isRunning } }
    var pid: Int32 { lock.withLock { process.processIdentifier } }

    func terminate() {
        lock.withLock {
            let pid = process.processIdentifier
            liveChildren.withLock { _ = $0.remove(pid) }
            guard process.isRunning else { return }
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit { terminate() }
}
