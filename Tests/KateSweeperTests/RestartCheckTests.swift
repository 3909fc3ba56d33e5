import Foundation
import KateContract
import KateSweeper
import Testing

/// `RestartCheck`: what became of kate's last restart, read from its record, the marker and managedFields.
@Suite("restart verification")
struct RestartCheckTests {
    static let written = "2026-12-03T01:00:00Z"

    static func state(
        marker: String?, generation: Int64 = 5, observed: Int64 = 5, updated: Int = 2, managers: [FieldManager] = []
    ) -> WorkloadState {
        var state = WorkloadState(
            reference: WorkloadReference(kind: .deployment, namespace: "ns", name: "web"), annotations: [KateAnnotations.restart: "\(written) generation=4"],
            generation: generation, observedGeneration: observed, replicas: 2, updatedReplicas: updated)
        state.restartMarker = marker
        state.fieldManagers = managers
        return state
    }

    static let kate = FieldManager(manager: "kate-sweeper", operation: "Update", time: written, ownsMarker: false, ownsTemplate: true, ownsRecord: true)

    @Test func recordRoundTrips() {
        #expect(RestartRecord(restartedAt: Self.written, generation: 4).text == "\(Self.written) generation=4")
        #expect(RestartRecord("\(Self.written) generation=4") == RestartRecord(restartedAt: Self.written, generation: 4))
        #expect(RestartRecord("") == nil)
    }

    @Test func intactAndRolledOutIsProgressed() {
        #expect(RestartCheck.check(Self.state(marker: Self.written)) == .progressed)
    }

    @Test func intactButNotObservedOrNotUpdatedIsRolling() {
        guard case .rolling = RestartCheck.check(Self.state(marker: Self.written, observed: 4)) else { Issue.record("not rolling"); return }
        guard case .rolling = RestartCheck.check(Self.state(marker: Self.written, updated: 1)) else { Issue.record("not rolling"); return }
    }

    @Test func aMarkerWithAnotherOlderValueNamesItsOwnerExactly() {
        let operatorEntry = FieldManager(manager: "cnpg-operator", operation: "Update", time: "2026-12-03T01:00:09Z", ownsMarker: true, ownsTemplate: true)
        let newer = FieldManager(manager: "helm", operation: "Update", time: "2026-12-03T01:00:30Z", ownsTemplate: true)
        guard case .reverted(let reversion) = RestartCheck.check(Self.state(marker: "2026-11-01T00:00:00Z", managers: [Self.kate, newer, operatorEntry])) else {
            Issue.record("not reverted")
            return
        }
        #expect(reversion.manager == "cnpg-operator" && reversion.found == "2026-11-01T00:00:00Z")
        #expect(reversion.description == "restartedAt \(Self.written) that kate wrote was replaced by 2026-11-01T00:00:00Z by field manager cnpg-operator (Update at 2026-12-03T01:00:09Z)")
    }

    @Test func aRemovalNamesTheTemplateOwnerThatWroteLastNeverKate() {
        let before = FieldManager(manager: "argocd-controller", operation: "Apply", time: "2026-12-02T10:00:00Z", ownsTemplate: true)
        let after = FieldManager(manager: "gardener-resource-manager", operation: "Update", time: "2026-12-03T01:00:05Z", ownsTemplate: true)
        let unrelated = FieldManager(manager: "kubectl-annotate", operation: "Update", time: "2026-12-03T01:00:06Z")
        guard case .reverted(let reversion) = RestartCheck.check(Self.state(marker: nil, managers: [Self.kate, before, after, unrelated])) else {
            Issue.record("not reverted")
            return
        }
        #expect(reversion.manager == "gardener-resource-manager")
        #expect(reversion.description.hasSuffix("was removed by field manager gardener-resource-manager (Update at 2026-12-03T01:00:05Z)"))
    }

    @Test func aRemovalWithOnlyAnEarlierTemplateOwnerIsAnnouncedAsAGuess() {
        let before = FieldManager(manager: "argocd-controller", operation: "Apply", time: "2026-12-02T10:00:00Z", ownsTemplate: true)
        guard case .reverted(let reversion) = RestartCheck.check(Self.state(marker: nil, managers: [Self.kate, before])) else {
            Issue.record("not reverted")
            return
        }
        #expect(reversion.manager == "argocd-controller")
        #expect(reversion.byWhom.contains("most likely"))
        guard case .reverted(let unknown) = RestartCheck.check(Self.state(marker: nil, managers: [Self.kate])) else { Issue.record("not reverted"); return }
        #expect(unknown.manager == nil && unknown.byWhom == "a field manager that left no managedFields entry")
    }

    @Test func aLaterRestartBySomeoneElseIsNoRevert() {
        let user = FieldManager(manager: "kubectl-rollout", operation: "Update", time: "2026-12-03T02:00:00Z", ownsMarker: true)
        #expect(RestartCheck.check(Self.state(marker: "2026-12-03T02:00:00Z", managers: [Self.kate, user])) == .noRecord)
    }

    @Test func withoutARecordThereIsNothingToCheck() {
        var state = Self.state(marker: nil)
        state.annotations = [:]
        #expect(RestartCheck.check(state) == .noRecord)
    }
}
