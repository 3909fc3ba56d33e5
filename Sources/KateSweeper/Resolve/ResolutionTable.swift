import KateRegistry
import Logging

/// One registry question: a tag, asked with one set of credentials.
public struct ResolveKey: Sendable, Hashable {
    public let image: TrackedImage
    public let scope: CredentialScope

    public init(image: TrackedImage, scope: CredentialScope) {
        self.image = image
        self.scope = scope
    }
}

/// Every distinct (tag, credentials) of a sweep, resolved once, in parallel with a cap: index
/// digests while the pods are still being listed (`indexDigests`), then platform manifests only for
/// tags where some pod's digest differs from the index digest (`complete`): on a single-arch or
/// fully current cluster that costs nothing.
public struct ResolutionTable: Sendable {
    public private(set) var states: [ResolveKey: TagState] = [:]
    /// The credentials and parsed reference each key was resolved with: the dangling-pin sentinel
    /// and the platform gate ask about the same repository with the same credentials.
    public private(set) var lookups: [ResolveKey: Lookup] = [:]

    public struct Lookup: Sendable {
        public var reference: ImageReference
        public var keyring: Keyring
    }

    public init(states: [ResolveKey: TagState] = [:], lookups: [ResolveKey: Lookup] = [:]) {
        self.states = states
        self.lookups = lookups
    }

    public subscript(key: ResolveKey) -> TagState? { states[key] }

    public var errorCount: Int {
        states.values.reduce(0) { count, state in
            if case .failed = state { return count + 1 }
            return count
        }
    }

    /// One key to resolve, with the credentials to resolve it with.
    public struct Request: Sendable {
        public var key: ResolveKey
        public var keyring: Keyring

        public init(key: ResolveKey, keyring: Keyring) {
            self.key = key
            self.keyring = keyring
        }
    }

    /// The index digest a tag points to, or why it could not be read.
    public struct IndexAnswer: Sendable {
        var request: Request
        var reference: ImageReference?
        var digest: Result<String, ResolveFailure>
    }

    public struct ResolveFailure: Error, Sendable {
        var message: String
        var failureClass: FailureClass
    }

    /// Stage 1, while pods are still being listed: the index digest of each key as it arrives, at
    /// most `concurrency` at once. Returns when `requests` finishes and the last answer is in.
    public static func indexDigests(
        of requests: AsyncStream<Request>, resolver: any TagResolving, concurrency: Int, timeout: Duration, logger: Logger
    ) async -> [ResolveKey: IndexAnswer] {
        let width = max(1, concurrency)
        return await withTaskGroup(of: IndexAnswer.self) { group in
            var answers: [ResolveKey: IndexAnswer] = [:]
            var inFlight = 0
            for await request in requests {
                if inFlight >= width, let answer = await group.next() {
                    answers[answer.request.key] = answer
                    inFlight -= 1
                }
                group.addTask { await indexDigest(request, resolver: resolver, timeout: timeout, logger: logger) }
                inFlight += 1
            }
            for await answer in group { answers[answer.request.key] = answer }
            return answers
        }
    }

    static func indexDigest(_ request: Request, resolver: any TagResolving, timeout: Duration, logger: Logger) async -> IndexAnswer {
        let key = request.key
        let reference: ImageReference
        do {
            reference = try ImageReference.parse(key.image.canonicalTag)
        } catch {
            return IndexAnswer(request: request, reference: nil, digest: .failure(ResolveFailure(message: "registry [\(FailureClass(error))]: \(error)", failureClass: FailureClass(error))))
        }
        do {
            let digest = try await resolver.currentDigest(of: reference, keyring: request.keyring, deadline: ContinuousClock.now.advanced(by: timeout))
            return IndexAnswer(request: request, reference: reference, digest: .success(digest))
        } catch {
            logger.warning("cannot resolve \(key.image.display)", metadata: ["credentials": "\(key.scope)", "class": "\(FailureClass(error))", "error": "\(error)"])
            return IndexAnswer(request: request, reference: reference, digest: .failure(ResolveFailure(message: "registry [\(FailureClass(error))]: \(error)", failureClass: FailureClass(error))))
        }
    }

    /// Stage 2, once every pod is known: platform manifests are listed only for tags where some
    /// pod's digest (in `observed`) differs from the index digest.
    public static func complete(
        _ answers: [ResolveKey: IndexAnswer], observed: [ResolveKey: Set<String>], resolver: any TagResolving, concurrency: Int,
        timeout: Duration
    ) async -> ResolutionTable {
        var states: [ResolveKey: TagState] = [:]
        var lookups: [ResolveKey: Lookup] = [:]
        var needChildren: [IndexAnswer] = []
        for (key, answer) in answers {
            // A tag whose registry could not answer now (unreachable, timed out, rate limited) gets no lookup: the
            // sentinel's HEADs by digest would only queue behind the circuit's half-open probe and could not settle
            // anything. A tag the registry says is gone (absent) keeps it: its pinned digest may be gone too.
            let transient: Bool
            if case .failure(let failure) = answer.digest { transient = failure.failureClass.isTransient } else { transient = false }
            if let reference = answer.reference, !transient { lookups[key] = Lookup(reference: reference, keyring: answer.request.keyring) }
            switch answer.digest {
            case .failure(let failure): states[key] = .failed(failure.message)
            case .success(let index):
                if observed[key, default: []].subtracting([index]).isEmpty {
                    states[key] = .resolved(indexDigest: index, platformDigests: [])
                } else {
                    needChildren.append(answer)
                }
            }
        }
        needChildren.sort { ($0.request.key.image.canonicalTag, $0.request.key.scope.description) < ($1.request.key.image.canonicalTag, $1.request.key.scope.description) }
        // The answer carries its key, so each task returns only the new state (no tuple across the await).
        let listed = await BoundedParallel.map(needChildren, concurrency: concurrency) { answer -> TagState in
            guard let reference = answer.reference, case .success(let index) = answer.digest else { return .failed("registry: no index digest") }
            do {
                let children = try await resolver.platformDigests(
                    of: reference, indexDigest: index, keyring: answer.request.keyring, deadline: ContinuousClock.now.advanced(by: timeout))
                return .resolved(indexDigest: index, platformDigests: children)
            } catch {
                // Without the children a platform digest would look stale: better unknown than a wrong restart.
                return .failed("cannot list platform manifests of \(answer.request.key.image.display) [\(FailureClass(error))]: \(error)")
            }
        }
        for (answer, state) in zip(needChildren, listed) { states[answer.request.key] = state }
        return ResolutionTable(states: states, lookups: lookups)
    }
}
