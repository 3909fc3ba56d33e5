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

/// Every distinct (tag, credentials) of a sweep, resolved once, in parallel with a cap.
/// Platform manifests are listed only for tags where some pod's digest differs from the index
/// digest: on a single-arch or fully current cluster that costs nothing.
public struct ResolutionTable: Sendable {
    public private(set) var states: [ResolveKey: TagState] = [:]

    public init(states: [ResolveKey: TagState] = [:]) {
        self.states = states
    }

    public subscript(key: ResolveKey) -> TagState? { states[key] }

    public var errorCount: Int {
        states.values.reduce(0) { count, state in
            if case .failed = state { return count + 1 }
            return count
        }
    }

    /// - Parameter observed: per key, the digests pods pin or run (to decide if children are needed).
    public static func resolve(
        _ observed: [ResolveKey: Set<String>], resolver: any TagResolving, credentials: CredentialCatalog,
        concurrency: Int, timeout: Duration, logger: Logger
    ) async -> ResolutionTable {
        let keys = observed.keys.sorted { ($0.image.canonicalTag, $0.scope.description) < ($1.image.canonicalTag, $1.scope.description) }
        let resolved = await BoundedParallel.map(keys, concurrency: concurrency) { key -> (ResolveKey, TagState) in
            let keyring = credentials.keyring(for: key.scope)
            let deadline = ContinuousClock.now.advanced(by: timeout)
            do {
                let reference = try ImageReference.parse(key.image.canonicalTag)
                let index = try await resolver.currentDigest(of: reference, keyring: keyring, deadline: deadline)
                let differing = observed[key, default: []].subtracting([index])
                guard !differing.isEmpty else { return (key, .resolved(indexDigest: index, platformDigests: [])) }
                do {
                    let children = try await resolver.platformDigests(of: reference, indexDigest: index, keyring: keyring, deadline: deadline)
                    return (key, .resolved(indexDigest: index, platformDigests: children))
                } catch {
                    // Without the children a platform digest would look stale: better unknown than a wrong restart.
                    return (key, .failed("cannot list platform manifests of \(key.image.display): \(error)"))
                }
            } catch {
                logger.warning("cannot resolve \(key.image.display)", metadata: ["credentials": "\(key.scope)", "error": "\(error)"])
                return (key, .failed("registry: \(error)"))
            }
        }
        return ResolutionTable(states: Dictionary(resolved, uniquingKeysWith: { first, _ in first }))
    }
}
