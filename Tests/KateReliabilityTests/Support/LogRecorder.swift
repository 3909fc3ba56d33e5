import Logging
import Synchronization

/// A swift-log handler that keeps every entry, so a test can assert what kate told the operator
/// ("still serving the previous certificate", and why) and wait for a line to appear.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]

        /// Message and metadata values in one string, for `contains` checks.
        var text: String { ([message] + metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }).joined(separator: " ") }
    }

    private struct Waiter {
        var predicate: @Sendable (Entry) -> Bool
        var continuation: CheckedContinuation<Entry?, Never>
    }

    private let state = Mutex<(entries: [Entry], waiters: [Int: Waiter], nextID: Int)>(([], [:], 0))

    var entries: [Entry] { state.withLock { $0.entries } }

    func logger(_ label: String = "kate.reliability") -> Logger {
        var logger = Logger(label: label) { _ in Handler(recorder: self) }
        logger.logLevel = .debug
        return logger
    }

    fileprivate func append(_ entry: Entry) {
        let ready = state.withLock { state -> [CheckedContinuation<Entry?, Never>] in
            state.entries.append(entry)
            let matched = state.waiters.filter { $0.value.predicate(entry) }
            for id in matched.keys { state.waiters[id] = nil }
            return matched.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: entry) }
    }

    /// The first entry (already logged or logged before `timeout`) that matches, else nil.
    func first(within timeout: Duration, where predicate: @escaping @Sendable (Entry) -> Bool) async -> Entry? {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        return await withCheckedContinuation { continuation in
            let existing = state.withLock { state -> Entry? in
                if let hit = state.entries.first(where: predicate) { return hit }
                state.waiters[id] = Waiter(predicate: predicate, continuation: continuation)
                return nil
            }
            if let existing {
                continuation.resume(returning: existing)
                return
            }
            // Started only once the waiter is registered, so the timeout cannot miss it.
            Task {
                try? await Task.sleep(for: timeout)
                self.cancelWaiter(id)
            }
        }
    }

    private func cancelWaiter(_ id: Int) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume(returning: nil)
    }

    private struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
            recorder.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
