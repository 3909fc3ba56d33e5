import Foundation
import KateAdmission
import KateKube
import Testing

/// kate reads reviews with its own forward-only reader (JSONDecoder was too slow for the
/// throughput target); these check it against Foundation and against hostile input.
@Suite("Review reader")
struct JSONReaderTests {
    @Test("reads the example pods exactly as Foundation's JSONDecoder reads KateKube's Pod model",
          arguments: [Fixtures.podCreate, Fixtures.ephemeralUpdate, Fixtures.pinnedAlready])
    func agreesWithFoundation(name: String) throws {
        let bytes = try Fixtures.bytes(name)
        let ours = try #require(try Fixtures.request(bytes).object)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let request = try #require(object["request"] as? [String: Any])
        let podJSON = try JSONSerialization.data(withJSONObject: try #require(request["object"]))
        var foundation = try JSONDecoder().decode(Pod.self, from: podJSON)
        // Fields admission never reads are skipped by kate's reader.
        foundation.status = nil
        foundation.metadata.resourceVersion = nil
        foundation.metadata.creationTimestamp = nil
        foundation.metadata.deletionTimestamp = nil
        foundation.metadata.generation = nil
        #expect(ours == foundation)
    }

    @Test("escapes, unicode and surrogate pairs in strings and keys")
    func strings() throws {
        let body = #"""
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"\u0075id":"u\u0031","kind":{"group":"","version":"v1","kind":"Pod"},
             "operation":"CREATE","namespace":"shop","object":{"metadata":{"annotations":{"note":"tab\there \"quoted\" \\ sl\/ash \u00e9 \ud83d\ude80 \ud800x"}},
             "spec":{"containers":[{"name":"app","image":"nginx:1.27"}]}}}}
            """#
        let request = try Fixtures.request(Array(body.utf8))
        #expect(request.uid == "u1")
        #expect(request.object?.metadata.annotations?["note"] == "tab\there \"quoted\" \\ sl/ash é 🚀 \u{FFFD}x")
    }

    @Test("truncated or corrupted bodies are errors, never crashes")
    func hostileInput() throws {
        let bytes = try Fixtures.bytes(Fixtures.podCreate)
        for length in stride(from: 0, to: bytes.count - 1, by: 37) {
            #expect(throws: ReviewDecodingError.self) { try AdmissionReviewDecoder.decode(Array(bytes[..<length])) }
        }
        var random = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            var corrupted = bytes
            for _ in 0..<4 { corrupted[Int.random(in: 0..<corrupted.count, using: &random)] = UInt8.random(in: 0...255, using: &random) }
            _ = try? AdmissionReviewDecoder.decode(corrupted)  // must return or throw, whatever the bytes
        }
        let deep = Array((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        let nested = Array(#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","extra":"#.utf8) + deep + Array("}".utf8)
        #expect(throws: ReviewDecodingError.self) { try AdmissionReviewDecoder.decode(nested) }
        #expect(throws: ReviewDecodingError.self) { try AdmissionReviewDecoder.decode(Array(#"{"kind":"AdmissionReview"} trailing"#.utf8)) }
    }

    @Test("a null object, null maps and null lists are absent, not errors")
    func nulls() throws {
        let body = #"""
            {"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},
             "operation":"CREATE","dryRun":null,"userInfo":null,"oldObject":null,
             "object":{"metadata":{"labels":null,"annotations":null,"ownerReferences":null},
                       "spec":{"containers":[{"name":"app","image":"nginx:1"}],"initContainers":null,"imagePullSecrets":null}}}}
            """#
        let request = try Fixtures.request(Array(body.utf8))
        let pod = try #require(request.object)
        #expect(pod.metadata.annotations == nil && pod.spec.initContainers == nil && request.oldObject == nil && !request.dryRun)
    }
}
