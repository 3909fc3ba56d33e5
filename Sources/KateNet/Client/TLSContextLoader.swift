import Synchronization

/// Builds a client's `TLSClientContext` on a thread of its own as soon as the client exists.
///
/// Parsing the system CA bundle takes tens of milliseconds of blocking file I/O and CPU. Done
/// lazily it landed on the first https request's deadline (inside whatever lock created the
/// client); done inline in `HTTPClient.init` it blocked whoever built the client — on the
/// cooperative pool, one of only as many threads as cores. Plain-http requests never wait for it.
final class TLSContextLoader: Sendable {
    private enum State {
        case loading([CheckedContinuation<Result<TLSClientContext, HTTPClientError>, Never>])
        case loaded(Result<TLSClientContext, HTTPClientError>)
    }

    private let state = Mutex(State.loading([]))

    /// Loaders for configurations that read no files besides the system bundle, shared by every
    /// client in the process (a webhook has a registry and a Kubernetes client; a test process
    /// dozens): the parsed bundle is the same for all of them. Configurations naming CA or key
    /// files get a loader of their own, so a client rebuilt after a file rotated reads it again.
    private static let shared = Mutex<[(TLSClientConfiguration, TLSContextLoader)]>([])

    static func loader(for configuration: TLSClientConfiguration) -> TLSContextLoader {
        let readsFiles = (configuration.additionalTrustRoots + [configuration.clientCertificate, configuration.clientPrivateKey].compactMap { $0 })
            .contains { if case .file = $0 { true } else { false } }
        guard !readsFiles else { return TLSContextLoader(configuration: configuration) }
        return shared.withLock { list in
            if let existing = list.first(where: { $0.0 == configuration }) { return existing.1 }
            let loader = TLSContextLoader(configuration: configuration)
            list.append((configuration, loader))
            return loader
        }
    }

    private init(configuration: TLSClientConfiguration) {
        do {
            try DetachedThread.start { [self] in finish(Self.build(configuration)) }
        } catch {
            // No thread to spare: build it here rather than not at all.
            finish(Self.build(configuration))
        }
    }

    /// True once the background load has ended (for tests).
    var isLoaded: Bool {
        if case .loaded = state.withLock({ $0 }) { return true }
        return false
    }

    /// The context, waiting for the load if it is still running.
    func context() async -> Result<TLSClientContext, HTTPClientError> {
        if case .loaded(let result) = state.withLock({ $0 }) { return result }
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Result<TLSClientContext, HTTPClientError>? in
                switch state {
                case .loaded(let result):
                    return result
                case .loading(var waiters):
                    waiters.append(continuation)
                    state = .loading(waiters)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func finish(_ result: Result<TLSClientContext, HTTPClientError>) {
        let waiters = state.withLock { state -> [CheckedContinuation<Result<TLSClientContext, HTTPClientError>, Never>] in
            guard case .loading(let waiters) = state else { return [] }
            state = .loaded(result)
            return waiters
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    private static func build(_ configuration: TLSClientConfiguration) -> Result<TLSClientContext, HTTPClientError> {
        do {
            return .success(try TLSClientContext(configuration: configuration))
        } catch {
            // A bad CA file is reported on the first https request (HTTPClient.init cannot throw).
            return .failure(.tlsFailure(host: "(client configuration)", message: "cannot set up TLS: \(error)"))
        }
    }
}
