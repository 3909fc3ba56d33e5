#if canImport(Glibc)
import Glibc
#else
#error("kate's I/O layer needs Linux (epoll)")
#endif
internal import CKateShims

/// The result of a non-blocking system call: done, or "would block — wait for readiness".
enum IOResult<T> {
    case processed(T)
    case wouldBlock
}

/// Every system call kate's I/O layer makes, wrapped once: EINTR retried, EAGAIN turned into `.wouldBlock`,
/// any other errno thrown as a `NetError` that names the operation.
enum Posix {
    /// SIGPIPE would kill the process when a peer resets a connection mid-write (OpenSSL writes with write(2),
    /// which has no MSG_NOSIGNAL). Linux has no per-socket opt-out, so ignore it once, before the first socket.
    static let ignoreSIGPIPE: Void = {
        _ = signal(SIGPIPE, SIG_IGN)
    }()

    @inline(__always)
    static func call<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> IOResult<T> {
        while true {
            let result = body()
            if result >= 0 { return .processed(result) }
            let code = errno
            switch code {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default:
                preconditionIsNotProgrammerError(code, operation())
                throw NetError(errno: code, operation: operation())
            }
        }
    }

    /// EBADF, EFAULT and ENOTSOCK mean kate used a closed or wrong descriptor or a bad pointer: a bug in
    /// this layer (SocketHandle exists to make it impossible), not a network condition. Stop loudly, as NIO
    /// does, instead of letting a recycled fd number send one client's bytes to another.
    static func preconditionIsNotProgrammerError(_ code: Int32, _ operation: @autoclosure () -> String) {
        precondition(code != EBADF && code != EFAULT && code != ENOTSOCK, "\(operation()) failed with \(NetError.describe(errno: code)): a kate bug")
    }

    /// A call that must not block or fail with EAGAIN (socket(), bind(), setsockopt()…).
    @discardableResult
    static func checked<T: FixedWidthInteger>(_ operation: @autoclosure () -> String, _ body: () -> T) throws -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw NetError(errno: code, operation: operation())
        }
    }

    static func socket(family: Int32) throws -> Int32 {
        _ = ignoreSIGPIPE
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        return try checked("socket()") { Glibc.socket(family, type, 0) }
    }

    static func setOption(_ fd: Int32, level: Int32, name: Int32, value: Int32, _ what: String) throws {
        var v = value
        try checked("setsockopt(\(what))") {
            setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    static func accept(_ fd: Int32) throws -> IOResult<Int32> {
        let flags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        while true {
            let result = ckate_accept4(fd, nil, nil, flags)
            if result >= 0 { return .processed(result) }
            let code = errno
            switch code {
            case EINTR, ECONNABORTED, EPROTO: continue  // the peer gave up before we got to it: take the next one
            case EAGAIN, EWOULDBLOCK: return .wouldBlock
            default: throw NetError(errno: code, operation: "accept()")
            }
        }
    }

    /// Starts or continues a non-blocking connect(2): `.processed` once connected, `.wouldBlock` while in
    /// progress. Calling it again after a wake-up is how the outcome is learnt (EISCONN = done; the
    /// handshake's error, e.g. ECONNREFUSED, is thrown).
    static func connect(_ fd: Int32, to address: SocketAddress, _ operation: @autoclosure () -> String) throws -> IOResult<Void> {
        while true {
            if address.withSockaddr({ Glibc.connect(fd, $0, $1) }) == 0 { return .processed(()) }
            let code = errno
            switch code {
            case EINTR: continue
            case EISCONN: return .processed(())
            case EINPROGRESS, EALREADY, EAGAIN: return .wouldBlock
            default:
                preconditionIsNotProgrammerError(code, operation())
                throw NetError(errno: code, operation: operation())
            }
        }
    }

    /// recv(2) of at most `maxBytes`; `[]` means the peer closed its side.
    ///
    /// Reads into scratch space and returns an exactly-sized copy: callers keep these arrays in their
    /// buffers, and an array sized for the request rather than the data would pin 64 KiB per 200-byte read.
    static func receive(_ fd: Int32, maxBytes: Int, _ operation: @autoclosure () -> String) throws -> IOResult<[UInt8]> {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxBytes) { buffer in
            switch try call(operation(), { recv(fd, buffer.baseAddress, maxBytes, 0) }) {
            case .processed(let count): .processed(Array(buffer[0..<count]))
            case .wouldBlock: .wouldBlock
            }
        }
    }

    /// send(2) with MSG_NOSIGNAL; returns how many bytes the kernel took.
    static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ operation: @autoclosure () -> String) throws -> IOResult<Int> {
        try call(operation()) { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    /// shutdown(2) of the sending side: a FIN, reading stays possible. ENOTCONN (the peer already went away) is
    /// not an error worth reporting to someone who is closing anyway.
    static func shutdownWrite(_ fd: Int32) throws {
        if Glibc.shutdown(fd, Int32(SHUT_WR)) == 0 { return }
        let code = errno
        if code == ENOTCONN { return }
        preconditionIsNotProgrammerError(code, "shutdown(SHUT_WR)")
        throw NetError(errno: code, operation: "shutdown(SHUT_WR)")
    }

    /// eventfd(2), non-blocking and close-on-exec: the reactor's wake-up channel.
    static func eventFD() throws -> Int32 {
        try checked("eventfd()") { ckate_eventfd() }
    }

    /// Adds 1 to an eventfd's counter. EAGAIN means the counter is saturated: a wake-up is pending anyway.
    static func signalEventFD(_ fd: Int32) throws {
        var one: UInt64 = 1
        _ = try call("write(eventfd)") { Glibc.write(fd, &one, MemoryLayout<UInt64>.size) }
    }

    /// Resets an eventfd's counter; EAGAIN means nothing was pending.
    static func drainEventFD(_ fd: Int32) throws {
        var value: UInt64 = 0
        _ = try call("read(eventfd)") { Glibc.read(fd, &value, MemoryLayout<UInt64>.size) }
    }

    /// Reads a whole regular file of at most `limit` bytes (certificates, keys, tokens): blocking I/O, for
    /// start-up and reload polls only. Throws `NetError` naming the path; `nil` when the file is larger.
    static func readFile(_ path: String, limit: Int) throws -> [UInt8]? {
        let fd = try checked("open(\(path))") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var contents: [UInt8] = []
        let chunkSize = 16384
        while true {
            let count = try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunkSize) { chunk in
                let count = try checked("read(\(path))") { Glibc.read(fd, chunk.baseAddress, chunkSize) }
                contents += chunk[0..<count]
                return count
            }
            if count == 0 { return contents }
            if contents.count > limit { return nil }
        }
    }

    /// close(2) is not retried on EINTR: on Linux the descriptor is released even then (LWN 576478),
    /// and a retry could close a descriptor another thread just received.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }
}
