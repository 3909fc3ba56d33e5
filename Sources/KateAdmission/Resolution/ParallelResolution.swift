import KateNet
import KateRegistry

/// Resolves several tags at once, each bounded by the same deadline. The review's answer
/// cannot wait for the slowest registry: when the deadline passes, whatever is still
/// outstanding counts as timed out and its task is cancelled.
enum ParallelResolution {
    static func resolveAll(
        _ references: [ImageReference], resolver: any DigestResolving, keyring: Keyring,
        deadline: ContinuousClock.Instant, staleIfError: Duration?, budget: Duration
    ) async -> [ImageReference: Result<DigestResolution, ResolutionFailure>] {
        // Cached tags answer at once; only the misses get a task (and the deadline timer).
        var cached: [ImageReference: Result<DigestResolution, ResolutionFailure>] = [:]
        for reference in references {
            if let hit = resolver.cachedDigest(reference, keyring: keyring) { cached[reference] = .success(hit) }
        }
        let misses = references.filter { cached[$0] == nil }
        guard !misses.isEmpty else { return cached }
        let fetched = await resolveEach(misses, resolver: resolver, keyring: keyring, deadline: deadline, staleIfError: staleIfError, budget: budget)
        return cached.merging(fetched) { hit, _ in hit }
    }

    private static func resolveEach(
        _ references: [ImageReference], resolver: any DigestResolving, keyring: Keyring,
        deadline: ContinuousClock.Instant, staleIfError: Duration?, budget: Duration
    ) async -> [ImageReference: Result<DigestResolution, ResolutionFailure>] {
        await withTaskGroup(of: (ImageReference, Result<DigestResolution, ResolutionFailure>)?.self) { group in
            for reference in references {
                group.addTask {
                    do {
                        let digest = try await resolver.resolveDigest(
                            reference, keyring: keyring, deadline: deadline, staleIfErrorWithin: staleIfError)
                        return (reference, .success(digest))
                    } catch {
                        return (reference, .failure(.classify(error, image: reference.original)))
                    }
                }
            }
            // The deadline as a child task: the first nil out of the group means time is up.
            group.addTask {
                try? await sleepCancellably(until: deadline)
                return nil
            }
            var results: [ImageReference: Result<DigestResolution, ResolutionFailure>] = [:]
            while let next = await group.next() {
                guard let (reference, result) = next else { break }
                results[reference] = result
                if results.count == references.count { break }
            }
            group.cancelAll()
            for reference in references where results[reference] == nil {
                results[reference] = .failure(.deadlineReached(image: reference.original, budget: budget))
            }
            return results
        }
    }
}
