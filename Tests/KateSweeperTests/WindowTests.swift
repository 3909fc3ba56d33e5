import Foundation
import KateContract
import KateKube
import KateRegistry
import Logging
import MetricsTestKit
import Synchronization
import Testing
@testable import KateSweeper

/// RFC 3339 → Date, for readable instants.
private func at(_ text: String) -> Date {
    guard let date = SweepClock.parse(text) else { fatalError("bad test instant \(text)") }
    return date
}

@Suite("maintenance windows: syntax")
struct WindowSyntaxTests {
    @Test func parsesDaysRangesListsAndZones() throws {
        let saturday = try MaintenanceWindow(parsing: "Sat 02:00-04:00 Europe/Berlin")
        #expect(saturday.days == [6] && saturday.start == 120 && saturday.end == 240 && saturday.timeZone.identifier == "Europe/Berlin")
        #expect(try MaintenanceWindow(parsing: "Mon-Fri 22:00-02:00").days == [1, 2, 3, 4, 5])
        #expect(try MaintenanceWindow(parsing: "Mon-Fri 22:00-02:00").zoneName == "UTC")
        #expect(try MaintenanceWindow(parsing: "mon,Wed,FRI 01:00-03:00 UTC").days == [1, 3, 5])
        #expect(try MaintenanceWindow(parsing: "Fri-Mon 00:00-24:00").days == [5, 6, 7, 1])
        #expect(try MaintenanceWindow(parsing: "Sat,Mon-Tue 01:00-02:00").days == [6, 1, 2])
        #expect(try MaintenanceWindow(parsing: "03:00-04:00").days == Set(1...7))
        #expect(try MaintenanceWindows.parse(["Sat 02:00-04:00 Europe/Berlin; Sun 03:00-05:00", "Wed 01:00-02:00"]).count == 3)
    }

    @Test(arguments: [
        ("Sat 2:00-04:00", "is not HH:MM-HH:MM"),
        ("Sat 02:00-04:60", "is not HH:MM-HH:MM"),
        ("Sat 02:00", "is not HH:MM-HH:MM"),
        ("Caturday 02:00-04:00", "are not like Sat, Mon-Fri"),
        ("Sat 02:00-02:00", "start and end are equal"),
        ("Sat 02:00-04:00 Europe/Atlantis", "unknown time zone \"Europe/Atlantis\""),
        ("Sat 02:00-04:00 UTC extra", "unexpected \"extra\""),
        ("Sat", "no time range"),
        ("Sat 24:00-01:00", "cannot start at 24:00"),
    ])
    func invalidWindowsNameTheFix(_ text: String, _ problem: String) {
        do {
            _ = try MaintenanceWindow(parsing: text)
            Issue.record("\(text) parsed")
        } catch let error as WindowSyntaxError {
            #expect(error.description.contains(problem), "\(error)")
            #expect(error.description.contains("write it like \"Sat 02:00-04:00 Europe/Berlin\""))
            #expect(!error.description.contains("\n"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}

@Suite("maintenance windows: which instants are inside")
struct WindowContainsTests {
    @Test func saturdayInBerlinWinterTime() throws {
        let window = try MaintenanceWindow(parsing: "Sat 02:00-04:00 Europe/Berlin")
        // 2026-12-05 is a Saturday; CET is UTC+1.
        #expect(!window.contains(at("2026-12-05T00:59:59Z")))
        #expect(window.contains(at("2026-12-05T01:00:00Z")))
        #expect(window.contains(at("2026-12-05T02:59:59Z")))
        #expect(!window.contains(at("2026-12-05T03:00:00Z")))
        #expect(!window.contains(at("2026-12-06T01:30:00Z")))
    }

    @Test func crossingMidnightBelongsToTheDayItOpens() throws {
        let window = try MaintenanceWindow(parsing: "Fri 22:00-02:00")
        #expect(window.contains(at("2026-12-04T23:00:00Z")))  // Friday night
        #expect(window.contains(at("2026-12-05T01:59:00Z")))  // Saturday, before 02:00
        #expect(!window.contains(at("2026-12-05T22:30:00Z")))  // Saturday night: not listed
        #expect(!window.contains(at("2026-12-04T01:00:00Z")))  // Friday 01:00: Thursday's night, not listed
    }

    @Test func springForwardDayInBerlin() throws {
        // 2026-03-29: 02:00 CET → 03:00 CEST. 02:30 does not exist; read with CET (as zoneinfo fold=0): 01:30Z.
        let gap = try MaintenanceWindow(parsing: "Sun 02:30-04:00 Europe/Berlin")
        #expect(!gap.contains(at("2026-03-29T01:15:00Z")))
        #expect(gap.contains(at("2026-03-29T01:30:00Z")))
        #expect(gap.contains(at("2026-03-29T01:59:00Z")))
        #expect(!gap.contains(at("2026-03-29T02:00:00Z")))  // 04:00 CEST
        // A three-hour window on that day lasts two real hours.
        let night = try MaintenanceWindow(parsing: "Sun 01:00-04:00 Europe/Berlin")
        #expect(night.contains(at("2026-03-29T00:00:00Z")) && night.contains(at("2026-03-29T01:59:59Z")))
        #expect(!night.contains(at("2026-03-29T02:00:00Z")))
    }

    @Test func fallBackDayInBerlin() throws {
        // 2026-10-25: 03:00 CEST → 02:00 CET; 02:00–02:59 happens twice. The window opens at the first 02:00.
        let window = try MaintenanceWindow(parsing: "Sun 02:00-03:00 Europe/Berlin")
        #expect(!window.contains(at("2026-10-24T23:59:00Z")))
        #expect(window.contains(at("2026-10-25T00:00:00Z")))  // first 02:00 (CEST)
        #expect(window.contains(at("2026-10-25T01:30:00Z")))  // second 02:30 (CET)
        #expect(!window.contains(at("2026-10-25T02:00:00Z")))  // 03:00 CET
    }

    @Test func nextOpeningIsNamedInTheWindowsZone() throws {
        let window = try MaintenanceWindow(parsing: "Sat 02:00-04:00 Europe/Berlin")
        let next = try #require(window.nextOpening(after: at("2026-12-03T06:00:00Z")))
        #expect(next == at("2026-12-05T01:00:00Z"))
        #expect(window.describeOpening(next) == "Sat 02:00 Europe/Berlin")
        // Inside a window, the next opening is next week's.
        #expect(window.nextOpening(after: at("2026-12-05T01:30:00Z")) == at("2026-12-12T01:00:00Z"))
    }
}

@Suite("maintenance windows: the gate and the sweep")
struct WindowGateTests {
    static let saturday = try! MaintenanceWindows.parse(["Sat 02:00-04:00 Europe/Berlin"])
    static let thursdayMorning = at("2026-12-03T06:00:00Z")
    static let saturdayNight = at("2026-12-05T01:30:00Z")

    @Test func flagWindowsAndNamespaceOverrides() {
        let gate = WindowGate(
            now: Self.thursdayMorning, windows: Self.saturday,
            annotations: ["ops": "Thu 06:00-07:00 UTC", "frozen": "Sun 03:00-04:00 America/New_York", "typo": "Thursday 06:00-07:00"])
        #expect(gate.heldReason(namespace: "default") == "outside maintenance window (next: Sat 02:00 Europe/Berlin)")
        #expect(gate.heldReason(namespace: "ops") == nil)
        #expect(gate.heldReason(namespace: "frozen") == "outside maintenance window of namespace frozen (next: Sun 03:00 America/New_York)")
        let typo = gate.heldReason(namespace: "typo") ?? ""
        #expect(typo.contains("kate.dev/window annotation does not parse") && MaintenanceWindows.isWindowHold(typo))
        #expect(gate.warnings.count == 1 && gate.warnings[0].contains("namespace typo"))
        #expect(WindowGate(now: Self.thursdayMorning, windows: []).heldReason(namespace: "default") == nil)
    }

    static func sweeper(_ cluster: any SweepCluster, windows: [MaintenanceWindow], policy: ActionPolicy = ActionPolicy()) -> Sweeper {
        var configuration = SweeperConfiguration(policy: policy)
        configuration.windows = windows
        return Sweeper(cluster: cluster, resolver: SweeperPipelineTests.resolver, configuration: configuration, logger: Logger(label: "test"), metrics: SweepMetrics(factory: TestMetrics()))
    }

    @Test func outsideEveryWindowReportsAndWritesNothing() async throws {
        let cluster = InMemoryCluster(pods: try SweeperPipelineTests.webPods(), workloads: SweeperPipelineTests.workloads)
        let report = try await Self.sweeper(cluster, windows: Self.saturday).run(now: Self.thursdayMorning)
        #expect(cluster.writes.isEmpty && cluster.events.isEmpty)
        #expect(report.stalePods == 5 && report.results.isEmpty)
        #expect(Set(ReportRow.rows(of: report).map(\.action)) == ["outside maintenance window (next: Sat 02:00 Europe/Berlin)"])
        #expect(report.held.values.allSatisfy(MaintenanceWindows.isWindowHold))
        #expect(report.exitCode == 2)
    }

    /// The decision is the sweep's start time, not the wall clock when a write happens: a sweep
    /// that starts inside a window (here: a `now` inside it, while the real clock is not) writes
    /// everything it planned.
    @Test func insideAWindowRollsAsUsual() async throws {
        let cluster = InMemoryCluster(pods: try SweeperPipelineTests.webPods(), workloads: SweeperPipelineTests.workloads)
        let report = try await Self.sweeper(cluster, windows: Self.saturday).run(now: Self.saturdayNight)
        #expect(cluster.writes == ["restart Deployment default/web"])
        #expect(!report.held.values.contains(where: MaintenanceWindows.isWindowHold))
        #expect(report.exitCode == 0)
    }

    @Test func pacedEvictionsStartedInAWindowAllRun() async throws {
        let pods = try (1...3).map { index in
            try Fixtures.decodePod(Fixtures.pod(name: "solo-\(index)", containers: [.init(name: "app", image: "registry.local/web:1", imageID: "registry.local/web@\(SweeperPipelineTests.old)")]))
        }
        let cluster = InMemoryCluster(pods: pods)
        _ = try await Self.sweeper(cluster, windows: Self.saturday).run(now: Self.saturdayNight)
        #expect(cluster.writes == ["evict default/solo-1", "evict default/solo-2", "evict default/solo-3"])
    }

    @Test func namespaceAnnotationReplacesTheFlag() async throws {
        let inner = InMemoryCluster(pods: try SweeperPipelineTests.webPods(), workloads: SweeperPipelineTests.workloads)
        // The flag's window is open on Thursday morning; the namespace's own is not.
        let open = try MaintenanceWindows.parse(["Thu 05:00-07:00"])
        let frozen = AnnotatedCluster(inner, annotations: ["default": "Sun 03:00-04:00 UTC"])
        let held = try await Self.sweeper(frozen, windows: open).run(now: Self.thursdayMorning)
        #expect(inner.writes.isEmpty)
        #expect(Set(held.held.values) == ["outside maintenance window of namespace default (next: Sun 03:00 UTC)"])
        // Another namespace's annotation leaves `default` to the flag.
        let elsewhere = AnnotatedCluster(inner, annotations: ["other": "Sun 03:00-04:00 UTC"])
        _ = try await Self.sweeper(elsewhere, windows: open).run(now: Self.thursdayMorning)
        #expect(inner.writes == ["restart Deployment default/web"])
    }
}

/// The in-memory cluster with namespaces' `kate.dev/window` annotations.
final class AnnotatedCluster: SweepCluster, NamespaceWindowReading {
    let inner: InMemoryCluster
    let annotations: [String: String]

    init(_ inner: InMemoryCluster, annotations: [String: String]) {
        self.inner = inner
        self.annotations = annotations
    }

    func namespaceFacts() async throws -> NamespaceFacts {
        NamespaceFacts(optedOut: try await inner.optedOutNamespaces(), windows: annotations)
    }
    func listPods(namespace: String?, labelSelector: String?) async throws -> [Pod] { try await inner.listPods(namespace: namespace, labelSelector: labelSelector) }
    func optedOutNamespaces() async throws -> Set<String> { try await inner.optedOutNamespaces() }
    func workload(_ reference: WorkloadReference) async throws -> WorkloadState? { try await inner.workload(reference) }
    func serviceAccountPullSecrets(namespace: String, name: String) async throws -> [String]? {
        try await inner.serviceAccountPullSecrets(namespace: namespace, name: name)
    }
    func pullSecretConfig(namespace: String, name: String) async throws -> DockerConfig? { try await inner.pullSecretConfig(namespace: namespace, name: name) }
    func rolloutRestart(_ workload: WorkloadReference, at: Date) async throws { try await inner.rolloutRestart(workload, at: at) }
    func evict(namespace: String, pod: String) async throws -> EvictionOutcome { try await inner.evict(namespace: namespace, pod: pod) }
    func deletePod(namespace: String, name: String, uid: String) async throws { try await inner.deletePod(namespace: namespace, name: name, uid: uid) }
    func recordEvent(_ event: SweepEvent) async throws { try await inner.recordEvent(event) }
}
