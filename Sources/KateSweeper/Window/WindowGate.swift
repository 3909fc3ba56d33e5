import Foundation
import KateContract
import KateKube

/// Windows as `--window` / `KATE_WINDOW` / the `kate.dev/window` annotation write them: one or more
/// windows separated by `;` (a comma already separates days: `Mon,Wed 01:00-03:00`).
public enum MaintenanceWindows {
    public static func parse(_ texts: [String]) throws -> [MaintenanceWindow] {
        try texts.flatMap { $0.split(separator: ";").map(String.init) }
            .filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }
            .map { try MaintenanceWindow(parsing: $0) }
    }

    /// Whether a held reason is a window's (the sweep then exits as report mode does).
    public static func isWindowHold(_ reason: String) -> Bool { reason.hasPrefix(heldPrefix) }

    static let heldPrefix = "outside maintenance window"
}

/// What the sweeper reads from namespaces, from one list: the opt-out label and the `kate.dev/window`
/// annotations. `KubeClient` conforms (namespaces: list, which the opt-out already needs); a cluster that does
/// not (test doubles) answers the opt-out alone and has no per-namespace windows.
public protocol NamespaceWindowReading: Sendable {
    func namespaceFacts() async throws -> NamespaceFacts
}

public struct NamespaceFacts: Sendable, Equatable {
    /// Namespaces labelled `kate.dev/skip=true`.
    public var optedOut: Set<String>
    /// Namespace → its `kate.dev/window` annotation, for the namespaces that carry one.
    public var windows: [String: String]
    /// Namespace → its `kate.dev/cooldown` label, for the namespaces that carry one.
    public var cooldowns: [String: String]

    public init(optedOut: Set<String> = [], windows: [String: String] = [:], cooldowns: [String: String] = [:]) {
        self.optedOut = optedOut
        self.windows = windows
        self.cooldowns = cooldowns
    }
}

extension KubeClient: NamespaceWindowReading {
    public func namespaceFacts() async throws -> NamespaceFacts {
        var facts = NamespaceFacts()
        for namespace in try await listNamespaces(labelSelector: nil) {
            guard let name = namespace.metadata.name else { continue }
            // The shared rule, as `optedOutNamespaces()` applies it.
            if OptOut.isOptedOut(namespace.metadata.labels) { facts.optedOut.insert(name) }
            if let value = namespace.metadata.annotations?[KateAnnotations.window] { facts.windows[name] = value }
            if let value = namespace.metadata.labels?[KateAnnotations.cooldown] { facts.cooldowns[name] = value }
        }
        return facts
    }
}

/// Whether this sweep may write in a namespace, decided once, at the sweep's start (`now`): a sweep
/// that starts inside a window finishes everything it planned, paced evictions included, even
/// after the window closes; one that starts outside reports and writes nothing there.
public struct WindowGate: Sendable {
    public let now: Date
    /// `--window`: applies to every namespace without its own annotation. Empty: always open.
    public let windows: [MaintenanceWindow]
    /// The namespaces' annotations, parsed (a failure holds the namespace until it is fixed).
    public let overrides: [String: Result<[MaintenanceWindow], WindowSyntaxError>]

    public init(now: Date, windows: [MaintenanceWindow], annotations: [String: String] = [:]) {
        self.now = now
        self.windows = windows
        var overrides: [String: Result<[MaintenanceWindow], WindowSyntaxError>] = [:]
        for (namespace, value) in annotations {
            do {
                overrides[namespace] = .success(try MaintenanceWindows.parse([value]))
            } catch let error as WindowSyntaxError {
                overrides[namespace] = .failure(error)
            } catch {
                overrides[namespace] = .failure(WindowSyntaxError(value, "\(error)"))
            }
        }
        self.overrides = overrides
    }

    /// Nil when the sweep may write in `namespace`; else the held reason the report shows.
    public func heldReason(namespace: String) -> String? {
        let source: String
        let applying: [MaintenanceWindow]
        switch overrides[namespace] {
        case .failure(let error):
            return "\(MaintenanceWindows.heldPrefix) (namespace \(namespace)'s \(KateAnnotations.window) annotation does not parse; fix it: \(error.problem))"
        case .success(let own):
            applying = own
            source = " of namespace \(namespace)"
        case nil:
            applying = windows
            source = ""
        }
        guard !applying.isEmpty, !applying.contains(where: { $0.contains(now) }) else { return nil }
        let next = applying.compactMap { window in window.nextOpening(after: now).map { (window, $0) } }.min { $0.1 < $1.1 }
        let when = next.map { " (next: \($0.0.describeOpening($0.1)))" } ?? ""
        return "\(MaintenanceWindows.heldPrefix)\(source)\(when)"
    }

    /// One warning per namespace whose annotation does not parse.
    public var warnings: [String] {
        overrides.sorted { $0.key < $1.key }.compactMap { namespace, parsed in
            guard case .failure(let error) = parsed else { return nil }
            return "namespace \(namespace): \(KateAnnotations.window) annotation: \(error); its pods are held until it is fixed"
        }
    }

    /// Moves the writes in namespaces outside their windows to `held` (Events included: no writes).
    public func apply(to plan: inout SweepPlan) {
        var cache: [String: String?] = [:]
        func reason(_ namespace: String) -> String? {
            if let known = cache[namespace] { return known }
            let decided = heldReason(namespace: namespace)
            cache[namespace] = decided
            return decided
        }
        plan.actions.removeAll { action in
            guard let reason = reason(action.subject.namespace) else { return false }
            for pod in action.pods { plan.held[pod] = reason }
            return true
        }
        plan.notices.removeAll { reason($0.subject.namespace) != nil }
    }
}

/// `kate sweep --now` (hidden, documented in the README for testing window decisions): an RFC 3339 time.
public enum SweepClock {
    public static func parse(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }
}
