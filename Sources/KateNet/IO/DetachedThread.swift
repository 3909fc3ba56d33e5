#if canImport(Glibc)
import Glibc
#endif

/// Starts `body` on a new detached OS thread — for work that blocks (epoll_wait, getaddrinfo) and so
/// must never run on Swift concurrency's cooperative pool, which has only as many threads as cores.
enum DetachedThread {
    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func start(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            Unmanaged<Box>.fromOpaque(argument).takeRetainedValue().body()
            return nil
        }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw NetError(errno: result, operation: "pthread_create()")
        }
        pthread_detach(thread)
    }
}
