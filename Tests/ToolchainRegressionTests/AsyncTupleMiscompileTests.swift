import Testing

// Swift 6.3.1's optimizer miscompiles an async closure that returns a tuple whose first element is known before a
// suspension and whose second comes after it, when the closure has more than one return path: the stores of the
// first element into the task's result are deleted, so the parent reads garbage. kate's release sweeper crashed
// this way (issue 12: `OwnerDirectory.fetch` in `BoundedParallel`'s task group; SIGSEGV in `swift_retain`).
// Upstream: swiftlang/swift PR #91911 (merged 2026-09-02) was reverted by #92155; no released toolchain has the fix.
//
// This target is compiled with -O (Package.swift) in every configuration, so the debug test run reproduces it.
// The known-issue test fails ("known issue was not recorded") on the first toolchain that fixes the bug: then
// delete scripts/lint/async-tuples.py, its step in scripts/test.sh, and this file's known-issue test.

private struct WorkloadKey: Hashable, Sendable {
    var kind: Int
    var id: Int
}

private struct LookupFailed: Error {}

@inline(never)
private func lookup(_ key: WorkloadKey) async throws -> Int {
    await Task.yield()
    if key.id < 0 { throw LookupFailed() }
    return key.id &* 3
}

private let keys = (0..<200).map { WorkloadKey(kind: $0 % 7, id: $0) }

/// Counts results whose key and value do not belong together, plus results lost.
private func mismatches(of results: [(WorkloadKey, Result<Int, any Error>)]) -> Int {
    let wrong = results.filter { key, result in
        guard case .success(let value) = result else { return true }
        return value != key.id &* 3
    }.count
    return wrong + (keys.count - results.count)
}

/// The shape the lint forbids: `await` inside the returned tuple, two return paths.
@inline(never)
private func awaitInsideTuple() async -> Int {
    let results = await withTaskGroup(of: (WorkloadKey, Result<Int, any Error>).self) { group in
        for key in keys {
            group.addTask {
                do { return (key, .success(try await lookup(key))) } catch { return (key, .failure(error)) }  // async-tuples: allow
            }
        }
        var collected: [(WorkloadKey, Result<Int, any Error>)] = []
        while let next = await group.next() { collected.append(next) }
        return collected
    }
    return mismatches(of: results)
}

/// The workaround kate uses everywhere: await into a local, then build the tuple.
@inline(never)
private func awaitIntoLocalFirst() async -> Int {
    let results = await withTaskGroup(of: (WorkloadKey, Result<Int, any Error>).self) { group in
        for key in keys {
            group.addTask {
                do {
                    let value = try await lookup(key)
                    return (key, .success(value))
                } catch {
                    return (key, .failure(error))
                }
            }
        }
        var collected: [(WorkloadKey, Result<Int, any Error>)] = []
        while let next = await group.next() { collected.append(next) }
        return collected
    }
    return mismatches(of: results)
}

@Suite("Swift 6.3.1 -O async tuple miscompile")
struct AsyncTupleMiscompileTests {
    @Test("this target really is optimized (otherwise the reproduction below proves nothing)")
    func compiledWithOptimization() {
        #expect(!_isDebugAssertConfiguration())
    }

    @Test("the workaround shape returns every key with its own value under -O")
    func workaroundIsCorrect() async {
        #expect(await awaitIntoLocalFirst() == 0)
    }

    @Test("await inside the returned tuple is miscompiled under -O (remove the lint when this stops reproducing)")
    func forbiddenShapeStillMiscompiles() async {
        let wrong = await awaitInsideTuple()
        withKnownIssue("swiftlang/swift#92155 reverted the fix (#91911): stores of the tuple's first element dropped") {
            #expect(wrong == 0)
        }
    }
}
