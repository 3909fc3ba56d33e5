import Foundation
import KateContract
import Testing

/// KateContract's `Cooldown` rule, which the webhook and the sweeper both apply.
@Suite("Cooldown rule")
struct CooldownRuleTests {
    static let reference = "docker.io/library/nginx:1.27"
    static func digest(_ n: Int) -> String { "sha256:" + String(repeating: String(n % 10), count: 64) }
    static let t0 = Date(timeIntervalSince1970: 1_796_000_000)
    static let hour: TimeInterval = 3600
    static let cooldown = Duration.seconds(72 * 3600)

    /// digest 1 first seen 100h before t0, digest 2 first seen 2h before t0.
    static func history(flagOld: String? = nil) throws -> ImageTagHistory.Spec {
        var spec = ImageTagHistory.Spec(reference: reference)
        spec = try #require(spec.recording(digest: digest(1), platforms: nil, at: t0 - 100 * hour, keep: 10, resolution: .seconds(60)))
        spec = try #require(spec.recording(digest: digest(2), platforms: nil, at: t0 - 2 * hour, keep: 10, resolution: .seconds(60)))
        if let flagOld { spec = try #require(spec.flagging(digest: digest(1), flagOld)) }
        return spec
    }

    @Test("a digest known for the cooldown is adopted; a younger one is held with the newest mature digest to keep")
    func matureAndYoung() throws {
        let spec = try Self.history()
        #expect(Cooldown.decide(digest: Self.digest(1), history: spec, cooldown: Self.cooldown, now: Self.t0) == .adopt)
        guard case .hold(let keep, let firstSeen, let remaining) = Cooldown.decide(digest: Self.digest(2), history: spec, cooldown: Self.cooldown, now: Self.t0) else {
            Issue.record("a digest first seen 2h ago must be held by a 72h cooldown")
            return
        }
        #expect(keep?.digest == Self.digest(1))
        #expect(firstSeen == Self.t0 - 2 * Self.hour)
        #expect(remaining == .seconds(70 * 3600))
        // Exactly at the cooldown it is mature.
        #expect(Cooldown.decide(digest: Self.digest(2), history: spec, cooldown: Self.cooldown, now: Self.t0 + 70 * Self.hour) == .adopt)
    }

    @Test("a digest the ledger never saw is first seen now; with no history there is nothing to keep")
    func unknownDigest() throws {
        let spec = try Self.history()
        #expect(Cooldown.decide(digest: Self.digest(3), history: spec, cooldown: .seconds(60), now: Self.t0)
            == .hold(keep: spec.record(of: Self.digest(2)), firstSeen: nil, remaining: .seconds(60)))
        #expect(Cooldown.decide(digest: Self.digest(3), history: nil, cooldown: .seconds(60), now: Self.t0) == .hold(keep: nil, firstSeen: nil, remaining: .seconds(60)))
    }

    @Test("a zero cooldown adopts everything")
    func zero() {
        #expect(Cooldown.decide(digest: Self.digest(3), history: nil, cooldown: .zero, now: Self.t0) == .adopt)
    }

    @Test("a bad or dangling older digest is never the one kept")
    func flaggedDigestsAreNotKept() throws {
        for flag in [ImageTagHistory.Flag.bad, ImageTagHistory.Flag.dangling] {
            let spec = try Self.history(flagOld: flag)
            #expect(Cooldown.decide(digest: Self.digest(2), history: spec, cooldown: Self.cooldown, now: Self.t0)
                == .hold(keep: nil, firstSeen: Self.t0 - 2 * Self.hour, remaining: .seconds(70 * 3600)), "flag \(flag)")
        }
    }

    @Test("the namespace label: a Go duration, 0 for off, absent for the flag's value, anything else an error naming the fix")
    func namespaceLabel() throws {
        #expect(try Cooldown.namespaceCooldown(labels: ["kate.dev/cooldown": "72h"]) == .seconds(72 * 3600))
        #expect(try Cooldown.namespaceCooldown(labels: ["kate.dev/cooldown": "1h30m"]) == .seconds(5400))
        #expect(try Cooldown.namespaceCooldown(labels: ["kate.dev/cooldown": "0"]) == .zero)
        #expect(try Cooldown.namespaceCooldown(labels: ["team": "shop"]) == nil)
        #expect(try Cooldown.namespaceCooldown(labels: nil) == nil)
        #expect(throws: Cooldown.InvalidLabel(value: "3days")) { try Cooldown.namespaceCooldown(labels: ["kate.dev/cooldown": "3days"]) }
        #expect("\(Cooldown.InvalidLabel(value: "3days"))".contains("write e.g. 72h"))
    }
}
