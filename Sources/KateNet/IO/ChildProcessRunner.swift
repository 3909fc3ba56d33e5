internal import CKateShims
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Runs a helper program to completion with `posix_spawn`, on the calling thread (callers run it on a thread of its
/// own, never on the cooperative pool): stdin from `input` (then closed), stdout and stderr read concurrently, the
/// child sent SIGTERM when `timeout` passes.
///
/// Why not Foundation's `Process`: on Linux, `Process.run()` lists `/proc/self/fd` to close inherited descriptors and
/// copies each `dirent`'s whole 256-byte `d_name`, reading past glibc's buffer when a record ends a page; with many
/// descriptors open (a webhook's connections, a test process's sockets) it crashes with SIGSEGV now and then
/// (swiftlang/swift-corelibs-foundation PR #5472, merged 2026-05, not in Swift 6.3.1's Foundation). kate's release
/// KateNetTests crashed there once in CI. Here the pipes are created close-on-exec and the child gets exactly
/// descriptors 0, 1 and 2 (glibc's `posix_spawn_file_actions_addclosefrom_np` closes the rest without listing them).
public enum ChildProcessRunner {
    public struct Output: Sendable, Equatable {
        /// The exit status, or 128 + the signal number when a signal ended the child (as a shell reports it).
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        /// The timeout passed and the child was sent SIGTERM.
        public var timedOut: Bool
    }

    /// The same, on a thread of its own, so the awaiting task's cooperative thread stays free. The child's own
    /// timeout bounds the wait; cancelling the task does not stop the child early.
    public static func run(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        mergeStandardError: Bool = false, timeout: Duration
    ) async throws -> Output {
        let slot = ContinuationSlot<Output>()
        return try await withCheckedThrowingContinuation { continuation in
            slot.store(continuation)
            do {
                try DetachedThread.start {
                    slot.resume(with: Result {
                        try runBlocking(
                            executable: executable, arguments: arguments, environment: environment, input: input,
                            mergeStandardError: mergeStandardError, timeout: timeout)
                    })
                }
            } catch {
                slot.resume(with: .failure(error))
            }
        }
    }

    /// - Parameters:
    ///   - environment: the child's whole environment; nil: this process's.
    ///   - mergeStandardError: stderr goes to the stdout pipe (`output.stderr` stays empty).
    /// - Throws: `NetError` when the pipes cannot be made or the program cannot be started (ENOENT, EACCES).
    public static func runBlocking(
        executable: String, arguments: [String], environment: [String: String]? = nil, input: [UInt8] = [],
        mergeStandardError: Bool = false, timeout: Duration
    ) throws -> Output {
        let stdin = try pipe(), stdout = try pipe()
        let stderr = mergeStandardError ? nil : try pipe()
        var parentEnds: [Int32] = [stdin.write, stdout.read] + (stderr.map { [$0.read] } ?? [])
        let childEnds: [Int32] = [stdin.read, stdout.write] + (stderr.map { [$0.write] } ?? [])
        defer { for fd in parentEnds { Posix.close(fd) } }

        let pid: pid_t
        do {
            pid = try spawn(executable, arguments, environment, stdin: stdin.read, stdout: stdout.write, stderr: stderr?.write ?? stdout.write)
        } catch {
            for fd in childEnds { Posix.close(fd) }
            throw error
        }
        for fd in childEnds { Posix.close(fd) }

        let reaped = Mutex(false)
        let killed = Mutex(false)
        let watchdog = try DetachedThread.start {
            var remaining = timeout
            while remaining > .zero {
                let step = min(remaining, .milliseconds(50))
                let ts = timespec(tv_sec: Int(step.components.seconds), tv_nsec: Int(step.components.attoseconds / 1_000_000_000))
                var request = ts
                _ = nanosleep(&request, nil)
                remaining -= step
                if reaped.withLock({ $0 }) { return }
            }
            reaped.withLock { done in
                guard !done else { return }
                killed.withLock { $0 = true }
                _ = kill(pid, SIGTERM)
            }
        }
        _ = watchdog

        // stderr on a thread of its own: a child that fills one pipe must not block on it while we read the other.
        let errorBytes = Mutex<[UInt8]>([])
        let errorDone = Mutex(false)
        if let stderr {
            let fd = stderr.read
            _ = try DetachedThread.start {
                let bytes = readToEnd(fd)
                errorBytes.withLock { $0 = bytes }
                errorDone.withLock { $0 = true }
            }
        } else {
            errorDone.withLock { $0 = true }
        }
        writeAll(stdin.write, input)
        Posix.close(stdin.write)
        parentEnds.removeFirst()
        let outputBytes = readToEnd(stdout.read)
        let status = waitForExit(pid)
        reaped.withLock { $0 = true }
        // The stderr reader ends at EOF, which the child's exit has delivered.
        while !errorDone.withLock({ $0 }) {
            var pause = timespec(tv_sec: 0, tv_nsec: 1_000_000)
            _ = nanosleep(&pause, nil)
        }
        return Output(status: status, stdout: outputBytes, stderr: errorBytes.withLock { $0 }, timedOut: killed.withLock { $0 })
    }

    private static func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try Posix.checked("pipe2(O_CLOEXEC)") { ckate_pipe_cloexec(&fds) }
        return (fds[0], fds[1])
    }

    private static func spawn(
        _ executable: String, _ arguments: [String], _ environment: [String: String]?, stdin: Int32, stdout: Int32, stderr: Int32
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on 0, 1 and 2.
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // And nothing else: descriptors that other code (Foundation, a library) opened without close-on-exec too.
        let closed = ckate_spawn_actions_close_from(&actions, 3)
        guard closed == 0 else { throw NetError(errno: closed, operation: "posix_spawn_file_actions_addclosefrom_np") }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The child starts with default signal handling (kate ignores SIGPIPE) and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp ?? [] { free(pointer) }
        }
        var pid: pid_t = 0
        let code = argv.withUnsafeBufferPointer { argvBuffer in
            if let envp {
                return envp.withUnsafeBufferPointer { envBuffer in
                    posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, envBuffer.baseAddress!)
                }
            }
            return posix_spawn(&pid, executable, &actions, &attributes, argvBuffer.baseAddress!, environ)
        }
        guard code == 0 else { throw NetError(errno: code, operation: "starting \(executable)") }
        return pid
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return  // the child closed its stdin (EPIPE): it does not want the rest
            }
            offset += written
        }
    }

    private static func readToEnd(_ fd: Int32) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                result += chunk[0..<count]
            } else if count == 0 || errno != EINTR {
                return result
            }
        }
    }

    private static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
