import KateKube

/// Where the loop breaker's one Event per trip goes. `KubeClient` conforms (POST events.k8s.io/v1, which needs
/// `create` on `events` in that API group); tests substitute a recorder.
public protocol LoopEventRecording: Sendable {
    func recordLoopEvent(_ event: KubeEvent) async throws
}

extension KubeClient: LoopEventRecording {
    public func recordLoopEvent(_ event: KubeEvent) async throws {
        try await createEvent(event)
    }
}
