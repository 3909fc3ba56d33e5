#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A bearer token kept in a file that the kubelet rotates (projected service-account tokens live
/// behind a `..data` symlink that is swapped atomically about hourly).
///
/// Every request costs one `stat`: the file is re-read when its identity (device, inode, size,
/// mtime, following the symlink) changed, when the cached copy is older than `maxAge`, or when a
/// 401 forces it. Holding the file open or watching it would pin the old inode after a swap.
final class TokenFileSource: Sendable {
    let path: String
    let maxAge: Duration

    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var mtimeSeconds: Int
        var mtimeNanoseconds: Int
    }

    private struct State {
        var token: String?
        var identity: FileIdentity?
        var readAt: ContinuousClock.Instant?
    }

    private let state = Mutex(State())

    init(path: String, maxAge: Duration = .seconds(60)) {
        self.path = path
        self.maxAge = maxAge
    }

    /// The current token; `forceReload` after the server answered 401.
    func token(forceReload: Bool = false) throws(KubeError) -> String {
        let identity = Self.identity(of: path)
        let now = ContinuousClock.now
        return try state.withLock { (state: inout State) throws(KubeError) -> String in
            if !forceReload, let token = state.token, let readAt = state.readAt,
               identity != nil, identity == state.identity, now - readAt < maxAge {
                return token
            }
            let token: String
            do {
                token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw KubeError.credentials("cannot read the bearer token file \(path): \(error.localizedDescription)")
            }
            guard !token.isEmpty else { throw KubeError.credentials("the bearer token file \(path) is empty") }
            state = State(token: token, identity: identity, readAt: now)
            return token
        }
    }

    private static func identity(of path: String) -> FileIdentity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
        let mtime = info.st_mtimespec
        #else
        let mtime = info.st_mtim
        #endif
        return FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            mtimeSeconds: Int(mtime.tv_sec), mtimeNanoseconds: Int(mtime.tv_nsec)
        )
    }
}
