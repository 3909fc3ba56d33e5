import Foundation
import KateNet
import Logging
import Synchronization
@testable import KateAdmission

/// The real payload samples under Tests/Fixtures/registry-events (sources in its README).
enum EventFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/registry-events")

    static func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: directory.appendingPathComponent(name))) }

    /// The sample as a mutable JSON object, for the few tests that change one field of a real sample.
    static func object(_ name: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(bytes(name))) as? [String: Any] ?? [:]
    }

    static func encode(_ object: [String: Any]) throws -> [UInt8] { Array(try JSONSerialization.data(withJSONObject: object)) }
}

/// A refresher that records what it was asked and answers a fixed digest (or fails).
final class RecordingRefresher: PushedTagRefreshing, Sendable {
    let answer: String
    let failure: String?
    private let asked = Mutex<[String]>([])

    init(answer: String = "sha256:" + String(repeating: "a", count: 64), failure: String? = nil) {
        self.answer = answer
        self.failure = failure
    }

    struct Failure: Error, CustomStringConvertible { let description: String }

    func refresh(_ push: RegistryPush, deadline: ContinuousClock.Instant) async throws -> String {
        asked.withLock { $0.append(push.reference.description) }
        if let failure { throw Failure(description: failure) }
        return answer
    }

    var references: [String] { asked.withLock { $0 } }
}

extension HTTPRequest {
    static func event(_ body: [UInt8], headers: HTTPHeaders = [:], target: String = RegistryEventsReceiver.path) -> HTTPRequest {
        var all = headers
        if !all.contains("Content-Type") { all.add(name: "Content-Type", value: "application/json") }
        return HTTPRequest(method: "POST", target: target, headers: all, body: body)
    }
}

extension RequestContext {
    static var test: RequestContext { RequestContext(remoteAddress: "127.0.0.1:1", deadline: .now + .seconds(10), logger: Logger(label: "test")) }
}
