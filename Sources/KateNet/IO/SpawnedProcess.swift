internal import CKateShims
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A child process started with `posix_spawn` that keeps running: its pid, its stdout and stderr as pipes (or a file,
/// or /dev/null), signals, a terminate that escalates to SIGKILL after a grace period, and a reap. Whatever happens
/// the child is reaped: `deinit` kills and reaps a child still running, so a failing test leaves no process and no
/// zombie. `ChildProcessRunner` runs its short-lived helpers on this, so kate has one spawn.
///
/// The child gets exactly descriptors 0, 1 and 2: the parent's pipes are close-on-exec and everything from 3 up is
/// closed by glibc's `posix_spawn_file_actions_addclosefrom_np` without listing `/proc/self/fd` (what crashes
/// Foundation's `Process` in Swift 6.3.1, swift-corelibs-foundation PR #5472).
///
/// ```swift
/// let registry = try SpawnedProcess(executable: "/usr/bin/docker-registry", arguments: ["serve", config], stdout: .file(log), stderr: .file(log))
/// defer { registry.terminate(grace: .seconds(2)) }
/// ```
public final class SpawnedProcess: Sendable {
    /// Where the child's stdin comes from.
    public enum Input: Sendable {
        /// /dev/null.
        case null
        /// A pipe: write with `standardInput`, then `closeStandardInput()`.
        case pipe
    }

    /// Where the child's stdout or stderr goes.
    public enum Output: Sendable, Equatable {
        /// A pipe this object reads (`standardOutput`, `standardError`, `readToEnd`).
        case pipe
        /// Appended to this file (created 0644 if missing).
        case file(String)
        /// /dev/null.
        case discard
        /// stderr only: the stdout descriptor (pipe or file).
        case standardOutput
    }

    public enum Stream: Sendable { case standardOutput, standardError }

    public let pid: Int32
    public let executable: String
    private struct State {
        var stdin: Int32?
        var stdout: Int32?
        var stderr: Int32?
        /// Set once reaped: the pid may belong to another process from then on, so it is never signalled again.
        var exitStatus: Int32?
    }
    private let state: Mutex<State>

    /// - Parameter environment: the child's whole environment; nil: this process's.
    /// - Throws: `NetError` when a pipe or file cannot be opened or the program cannot be started (ENOENT, EACCES).
    public init(
        executable: String, arguments: [String], environment: [String: String]? = nil, stdin: Input = .null,
        stdout: Output = .pipe, stderr: Output = .pipe
    ) throws {
        var parentEnds = Descriptors()
        var childEnds = Descriptors()
        defer { childEnds.closeAll() }
        do {
            let input: Int32
            switch stdin {
            case .null: input = try childEnds.add(Self.open("/dev/null", flags: O_RDONLY))
            case .pipe:
                let pipe = try Self.pipe()
                childEnds.add(pipe.read)
                parentEnds.stdin = pipe.write
                input = pipe.read
            }
            let output = try Self.destination(stdout, childEnds: &childEnds, parentEnd: &parentEnds.stdout, standardOutput: nil)
            let error = try Self.destination(stderr, childEnds: &childEnds, parentEnd: &parentEnds.stderr, standardOutput: output)
            pid = try Self.spawn(executable, arguments, environment, stdin: input, stdout: output, stderr: error)
        } catch {
            parentEnds.closeAll()
            throw error
        }
        self.executable = executable
        state = Mutex(State(stdin: parentEnds.stdin, stdout: parentEnds.stdout, stderr: parentEnds.stderr))
    }

    deinit {
        let running = state.withLock { $0.exitStatus == nil }
        if running {
            _ = kill(pid, SIGKILL)
            _ = reapBlocking()
        }
        state.withLock { state in
            for fd in [state.stdin, state.stdout, state.stderr].compactMap({ $0 }) { Posix.close(fd) }
        }
    }

    // MARK: - Streams

    /// The write end of the child's stdin (`.pipe` only), nil once closed.
    public var standardInput: Int32? { state.withLock { $0.stdin } }
    /// The read ends of the child's stdout and stderr (`.pipe` only); this object closes them.
    public var standardOutput: Int32? { state.withLock { $0.stdout } }
    public var standardError: Int32? { state.withLock { $0.stderr } }

    /// Closes stdin so the child sees end of file.
    public func closeStandardInput() {
        let fd = state.withLock { state in
            defer { state.stdin = nil }
            return state.stdin
        }
        if let fd { Posix.close(fd) }
    }

    /// Writes all of `bytes` to stdin; stops quietly when the child closed it (EPIPE).
    public func write(_ bytes: [UInt8]) {
        guard let fd = standardInput else { return }
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                return
            }
            offset += written
        }
    }

    /// Reads `stream` (a `.pipe`) until the child closes it, blocking the calling thread. Empty for other outputs.
    /// With both streams piped, a child that fills the other pipe blocks meanwhile: read both at once (as
    /// `ChildProcessRunner` does with poll) or send the other to a file.
    public func readToEnd(_ stream: Stream) -> [UInt8] {
        guard let fd = stream == .standardOutput ? standardOutput : standardError else { return [] }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count > 0 {
                bytes += chunk[0..<count]
            } else if count < 0, errno == EINTR {
                continue
            } else {
                return bytes
            }
        }
    }

    // MARK: - Signals and exit

    /// The exit status once reaped: the exit code, or 128 + the signal number (as a shell reports it).
    public var exitStatus: Int32? { state.withLock { $0.exitStatus } }

    /// Whether the child has not exited yet (reaps it when it has, so it is no zombie).
    public var isRunning: Bool { tryReap() == nil }

    /// Sends `signal`, unless the child was already reaped. Returns whether it was sent.
    @discardableResult
    public func signal(_ signal: Int32) -> Bool {
        state.withLock { state in
            guard state.exitStatus == nil else { return false }
            return kill(pid, signal) == 0
        }
    }

    /// The exit status if the child has exited (reaping it), nil while it runs.
    public func tryReap() -> Int32? {
        state.withLock { state in
            if let status = state.exitStatus { return status }
            var raw: Int32 = 0
            var result: pid_t
            repeat { result = waitpid(pid, &raw, WNOHANG) } while result < 0 && errno == EINTR
            guard result == pid else { return result < 0 ? Self.recordLost(&state) : nil }
            state.exitStatus = Self.decode(raw)
            return state.exitStatus
        }
    }

    /// Blocks the calling thread until the child exits, reaps it and returns its status.
    public func waitBlocking() -> Int32 { reapBlocking() }

    /// `waitBlocking` on a thread of its own, so the awaiting task's cooperative thread stays free.
    public func wait() async -> Int32 {
        if let status = exitStatus { return status }
        let slot = ContinuationSlot<Int32>()
        let result = try? await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int32, any Error>) in
            slot.store(continuation)
            do {
                try DetachedThread.start { [self] in slot.resume(with: .success(reapBlocking())) }
            } catch {
                slot.resume(with: .failure(error))
            }
        }
        return result ?? reapBlocking()
    }

    /// SIGTERM, then SIGKILL if the child has not exited within `grace`; reaps it. Returns its status.
    @discardableResult
    public func terminateBlocking(grace: Duration = .seconds(2)) -> Int32 {
        if let status = tryReap() { return status }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let status = tryReap() { return status }
            usleep(5_000)
        }
        signal(SIGKILL)
        return reapBlocking()
    }

    /// `terminateBlocking` on a thread of its own.
    @discardableResult
    public func terminate(grace: Duration = .seconds(2)) async -> Int32 {
        if let status = tryReap() { return status }
        signal(SIGTERM)
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline {
            if let status = tryReap() { return status }
            try? await Task.sleep(for: .milliseconds(5))
        }
        signal(SIGKILL)
        return await wait()
    }

    /// Waits for the exit without reaping (WNOWAIT: the pid stays ours while `signal` may still use it), then reaps
    /// under the lock.
    private func reapBlocking() -> Int32 {
        while true {
            if let status = exitStatus { return status }
            var info = siginfo_t()
            let waited = waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT)
            if waited < 0, errno == EINTR { continue }
            if let status = tryReap() { return status }
            if waited < 0 { return state.withLock { Self.recordLost(&$0) } }
        }
    }

    /// waitpid failed (ECHILD: someone else reaped it, or SIGCHLD is ignored): treat the child as gone.
    private static func recordLost(_ state: inout State) -> Int32 {
        state.exitStatus = -1
        return -1
    }

    static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    // MARK: - Spawning

    /// Descriptors to close on every path.
    private struct Descriptors {
        var list: [Int32] = []
        var stdin: Int32?
        var stdout: Int32?
        var stderr: Int32?

        @discardableResult
        mutating func add(_ fd: Int32) -> Int32 {
            list.append(fd)
            return fd
        }

        mutating func closeAll() {
            for fd in list + [stdin, stdout, stderr].compactMap({ $0 }) { Posix.close(fd) }
            list = []
            stdin = nil
            stdout = nil
            stderr = nil
        }
    }

    private static func destination(_ output: Output, childEnds: inout Descriptors, parentEnd: inout Int32?, standardOutput: Int32?) throws -> Int32 {
        switch output {
        case .pipe:
            let pipe = try pipe()
            childEnds.add(pipe.write)
            parentEnd = pipe.read
            return pipe.write
        case .file(let path): return childEnds.add(try open(path, flags: O_WRONLY | O_CREAT | O_APPEND))
        case .discard: return childEnds.add(try open("/dev/null", flags: O_WRONLY))
        case .standardOutput:
            guard let standardOutput else { throw NetError(errno: EINVAL, operation: "stdout cannot be redirected to itself") }
            return standardOutput
        }
    }

    private static func open(_ path: String, flags: Int32) throws -> Int32 {
        try Posix.checked("open \(path)") { Glibc.open(path, flags | O_CLOEXEC, 0o644) }
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
}
