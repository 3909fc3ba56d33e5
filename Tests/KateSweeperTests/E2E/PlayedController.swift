import Foundation
import KubeTestServer
import Synchronization

/// The workload controller the test API server does not run: when one of the watched pods is gone
/// (evicted), it waits `delay`, then stores that pod's replacement. Before each replacement it notes
/// which watched pods are still there, so a test can tell whether the sweeper evicted the next pod
/// before the last one was replaced.
final class PlayedController: Sendable {
    struct Watched: Sendable {
        var namespace: String
        var name: String
        var uid: String
        /// The replacement as JSON (nil: this pod is never replaced).
        var replacement: [UInt8]?
    }

    final class Log: Sendable {
        /// Per replaced pod, the watched pods (with their original UID) still present when its replacement appeared.
        let presentAtReplacement = Mutex<[String: Set<String>]>([:])
        let replaced = Mutex<[String]>([])
    }

    let log = Log()
    private let task: Task<Void, Never>

    init(kube: KubeTestServer, watching pods: [Watched], delay: Duration = .milliseconds(150)) {
        let log = self.log
        task = Task {
            func isOriginalPresent(_ pod: Watched) -> Bool {
                kube.object(.pods, namespace: pod.namespace, name: pod.name)?[path: ["metadata", "uid"]]?.stringValue == pod.uid
            }
            var pending = pods.filter { $0.replacement != nil }
            // Bounded: a test that goes wrong ends its controller after 30 s at the latest.
            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            while !pending.isEmpty, ContinuousClock.now < deadline, !Task.isCancelled {
                guard let gone = pending.firstIndex(where: { !isOriginalPresent($0) }) else {
                    try? await Task.sleep(for: .milliseconds(5))
                    continue
                }
                let pod = pending.remove(at: gone)
                try? await Task.sleep(for: delay)
                let present = Set(pods.filter(isOriginalPresent).map(\.name))
                log.presentAtReplacement.withLock { $0[pod.name] = present }
                if let replacement = pod.replacement { _ = try? kube.put(replacement) }
                log.replaced.withLock { $0.append(pod.name) }
            }
        }
    }

    var replaced: [String] { log.replaced.withLock { $0 } }
    var presentAtReplacement: [String: Set<String>] { log.presentAtReplacement.withLock { $0 } }

    /// Waits (at most `timeout`) until every replaceable watched pod was replaced: the sweep does
    /// not wait after a workload's last eviction, so that replacement may still be on its way.
    func stop(afterReplacing count: Int, timeout: Duration = .seconds(10)) async {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while replaced.count < count, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(10)) }
        await stop()
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}
