/// A min-heap of (deadline, waiter id) that also supports removing any waiter in O(log n).
///
/// Removal matters: every keep-alive read parks with a long deadline (the idle timeout) and is usually
/// woken by data long before it; leaving those entries behind until they expire would grow the heap
/// by one entry per request.
struct DeadlineHeap {
    private struct Entry {
        var deadline: ContinuousClock.Instant
        var id: UInt64
    }

    private var entries: [Entry] = []
    private var positions: [UInt64: Int] = [:]

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var earliest: ContinuousClock.Instant? { entries.first?.deadline }

    /// How many deadlines satisfy `predicate` (O(n); diagnostics and tests).
    func count(where predicate: (ContinuousClock.Instant) -> Bool) -> Int {
        entries.reduce(0) { $0 + (predicate($1.deadline) ? 1 : 0) }
    }

    mutating func insert(id: UInt64, deadline: ContinuousClock.Instant) {
        entries.append(Entry(deadline: deadline, id: id))
        positions[id] = entries.count - 1
        siftUp(entries.count - 1)
    }

    /// Removes and returns the ids whose deadline is at or before `now`.
    mutating func popExpired(now: ContinuousClock.Instant) -> [UInt64] {
        var expired: [UInt64] = []
        while let first = entries.first, first.deadline <= now {
            expired.append(first.id)
            remove(id: first.id)
        }
        return expired
    }

    mutating func remove(id: UInt64) {
        guard let index = positions.removeValue(forKey: id) else { return }
        let last = entries.count - 1
        if index != last {
            entries.swapAt(index, last)
            positions[entries[index].id] = index
        }
        entries.removeLast()
        if index < entries.count {
            siftDown(index)
            siftUp(index)
        }
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard entries[child].deadline < entries[parent].deadline else { return }
            swap(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < entries.count, entries[left].deadline < entries[smallest].deadline { smallest = left }
            if right < entries.count, entries[right].deadline < entries[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            swap(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swap(_ a: Int, _ b: Int) {
        entries.swapAt(a, b)
        positions[entries[a].id] = a
        positions[entries[b].id] = b
    }
}
