internal import CKateShims
#if canImport(Glibc)
import Glibc
#endif

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
        let stdin = try pipe()
        let stdout: (read: Int32, write: Int32)
        do { stdout = try pipe() } catch { closeAll([stdin.read, stdin.write]); throw error }
        let stderr: (read: Int32, write: Int32)?
        do { stderr = mergeStandardError ? nil : try pipe() } catch { closeAll([stdin.read, stdin.write, stdout.read, stdout.write]); throw error }
        let childEnds = [stdin.read, stdout.write] + (stderr.map { [$0.write] } ?? [])
        let pid: pid_t
        do {
            pid = try spawn(executable, arguments, environment, stdin: stdin.read, stdout: stdout.write, stderr: stderr?.write ?? stdout.write)
        } catch {
            closeAll(childEnds + [stdin.write, stdout.read] + (stderr.map { [$0.read] } ?? []))
            throw error
        }
        closeAll(childEnds)
        writeAll(stdin.write, input)
        Posix.close(stdin.write)

        // One thread reads both pipes (a child that fills one must not block while we read the other) and keeps the
        // deadline: poll's timeout is the time left, and the child is signalled before it is reaped, so the pid
        // cannot have been reused.
        var streams = [(fd: stdout.read, bytes: [UInt8]())] + (stderr.map { [(fd: $0.read, bytes: [UInt8]())] } ?? [])
        var open = Array(streams.indices)
        let deadline = ContinuousClock.now + timeout
        var timedOut = false
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while !open.isEmpty {
            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            let left = deadline - ContinuousClock.now
            let milliseconds = timedOut ? -1 : max(0, Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 {
                if errno == EINTR { continue }
                _ = kill(pid, SIGTERM)  // cannot wait for output any more: do not reap a child left running
                break
            }
            if ready == 0 {
                timedOut = true
                _ = kill(pid, SIGTERM)
                continue
            }
            var stillOpen: [Int] = []
            for (slot, index) in open.enumerated() {
                guard fds[slot].revents != 0 else { stillOpen.append(index); continue }
                let count = chunk.withUnsafeMutableBytes { Glibc.read(streams[index].fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    streams[index].bytes += chunk[0..<count]
                    stillOpen.append(index)
                } else if count < 0, errno == EINTR {
                    stillOpen.append(index)
                }
            }
            open = stillOpen
        }
        closeAll(streams.map(\.fd))
        let status = waitForExit(pid)
        return Output(status: status, stdout: streams[0].bytes, stderr: streams.count > 1 ? streams[1].bytes : [], timedOut: timedOut)
    }

    private static func closeAll(_ fds: [Int32]) {
        for fd in fds { Posix.close(fd) }
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

    private static func waitForExit(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return -1 }
        }
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }
}
