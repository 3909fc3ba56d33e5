import Foundation
import KateAdmission
import KateRegistry
import Synchronization

/// A scripted `DigestResolving` for the pure pinning logic: digests per tag, optional delays
/// and failures, and a log of every lookup. The end-to-end tests use the real `Resolver`.
final class FakeResolver: DigestResolving {
    struct Script: Sendable {
        var digests: [String: String] = [:]
        var failures: [String: RegistryError] = [:]
        var delays: [String: Duration] = [:]
        /// Served with source `.stale` (and this resolve time) when the tag also has a failure.
        var lastKnown: [String: (digest: String, resolvedAt: Date)] = [:]
        /// What a fresh cache holds: answered by `cachedDigest` without a lookup.
        var cached: [String: String] = [:]
    }

    private let script: Mutex<Script>
    private let calls = Mutex<[String]>([])

    init(_ script: Script = Script()) { self.script = Mutex(script) }

    /// `canonicalName:tag`, the key the script uses.
    static func key(_ image: String) -> String {
        guard let reference = try? ImageReference.parse(image) else { return image }
        return reference.canonicalName + ":" + reference.trackedTag
    }

    func setDigest(_ digest: String, for image: String) { script.withLock { $0.digests[Self.key(image)] = digest } }

    func setCached(_ digest: String, for image: String) { script.withLock { $0.cached[Self.key(image)] = digest } }

    func cachedDigest(_ reference: ImageReference, keyring: Keyring) -> DigestResolution? {
        let key = reference.canonicalName + ":" + reference.trackedTag
        return script.withLock { $0.cached[key] }.map { DigestResolution(digest: $0, resolvedAt: Date(), source: .cache) }
    }

    var lookups: [String] { calls.withLock { $0 } }

    func resolveDigest(
        _ reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant, staleIfErrorWithin: Duration?
    ) async throws -> DigestResolution {
        let key = reference.canonicalName + ":" + reference.trackedTag
        calls.withLock { $0.append(key) }
        let current = script.withLock { $0 }
        if let delay = current.delays[key] {
            let wake = ContinuousClock.now + delay
            try await Task.sleep(until: min(wake, deadline), clock: .continuous)
            if wake > deadline {
                throw RegistryError(.timeout, registry: reference.registry, repository: reference.repository, tag: reference.tag, detail: "deadline passed")
            }
        }
        if let failure = current.failures[key] {
            if let maxAge = staleIfErrorWithin, let known = current.lastKnown[key],
                Date().timeIntervalSince(known.resolvedAt) <= Double(maxAge.components.seconds)
            {
                return DigestResolution(digest: known.digest, resolvedAt: known.resolvedAt, source: .stale)
            }
            throw failure
        }
        guard let digest = current.digests[key] else {
            throw RegistryError(.tagNotFound, registry: reference.registry, repository: reference.repository, tag: reference.tag, detail: "MANIFEST_UNKNOWN")
        }
        return DigestResolution(digest: digest, resolvedAt: Date(), source: .registry)
    }
}

/// 64-hex digests that read as what they are in failure messages.
func digest(_ seed: Character) -> String { "sha256:" + String(repeating: seed, count: 64) }
