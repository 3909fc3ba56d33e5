// libFuzzer target: AdmissionReview decoding, the pinning decision and JSON Patch generation.
//
// Invariants beyond "no crash":
// - every patch kate generates applies (RFC 6902) to `request.object` exactly as it arrived;
// - every image it writes parses, is pinned, and names the same repository and tag as before;
// - the patched object still decodes as a Pod and its `kate.dev/original-images` is a JSON map;
// - the encoded response is JSON with the request's uid and a base64 patch that decodes.
import Dispatch
import Foundation
import KateAdmission
import KateContract
import KateKube
import KateNet
import KateRegistry
import Logging

/// Answers every tag with a digest derived from it; tags starting with "fail" fail, so the
/// fail-open path is exercised too.
private struct DerivingResolver: DigestResolving {
    func resolveDigest(
        _ reference: ImageReference, keyring: Keyring, deadline: ContinuousClock.Instant, staleIfErrorWithin: Duration?
    ) async throws -> DigestResolution {
        if reference.trackedTag.hasPrefix("fail") {
            throw RegistryError(.server, registry: reference.registry, repository: reference.repository, tag: reference.tag, detail: "500")
        }
        let digest = "sha256:" + SHA256.hex(Array((reference.canonicalName + ":" + reference.trackedTag).utf8))
        return DigestResolution(digest: digest, resolvedAt: Date(timeIntervalSince1970: 1_700_000_000), source: .registry)
    }
}

/// Carries the async result back to the synchronous libFuzzer callback.
private final class ResultBox: @unchecked Sendable {
    var report: PinReport?
}

private let logger = Logger(label: "fuzz-admission")

/// The last byte of the uid picks the mode, so the corpus explores all three.
private func configuration(for request: AdmissionRequest) -> AdmissionConfiguration {
    switch (request.uid.utf8.last ?? 0) % 3 {
    case 1: AdmissionConfiguration(mode: .warn, staleIfError: nil)
    case 2: AdmissionConfiguration(failureMode: .deny, staleIfError: nil)
    default: AdmissionConfiguration(staleIfError: nil)
    }
}

private func pin(_ request: AdmissionRequest) -> PinReport {
    let pinner = PodPinner(
        configuration: configuration(for: request), resolver: DerivingResolver(),
        keyrings: StaticKeyringProvider(node: .empty))
    let box = ResultBox()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.report = await pinner.pin(request, deadline: .now + .seconds(5), now: Date(timeIntervalSince1970: 1_700_000_000), logger: logger)
        done.signal()
    }
    done.wait()
    guard let report = box.report else { fatalError("pin returned nothing") }
    return report
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzAdmission(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    // Raw bytes first: the decoder must survive anything a client sends.
    _ = try? AdmissionReviewDecoder.decode(input)
    // The invariants are checked on the same document re-serialised, as kube-apiserver always
    // sends it: no duplicate keys, which JSON parsers resolve differently (first vs last wins).
    guard let root = try? JSONSerialization.jsonObject(with: Data(input)), JSONSerialization.isValidJSONObject(root),
        let canonical = try? JSONSerialization.data(withJSONObject: root)
    else { return 0 }
    let body = Array(canonical)
    guard let review = try? AdmissionReviewDecoder.decode(body) else { return 0 }
    let report = pin(review.request)
    checkEncodedResponse(report.response, version: review.version, uid: review.request.uid)
    let mode = configuration(for: review.request)
    if !report.response.allowed {
        guard mode.failureMode == .deny, let denial = report.response.denial, [403, 503].contains(denial.code) else {
            fatalError("denied outside deny mode, or without a 403/503 status: \(report.response)")
        }
    }
    let operations = report.response.patch
    if mode.mode == .warn, !operations.isEmpty { fatalError("mode warn produced a patch: \(operations)") }
    if !report.response.allowed, !operations.isEmpty { fatalError("a denial carries a patch") }
    guard !operations.isEmpty else { return 0 }
    guard let original = rawObject(body) else {
        fatalError("a patch was generated for a review whose request.object is not a JSON object: \(operations)")
    }
    let patch = JSONPatchEncoder.encode(operations)
    let patched: Any
    do {
        patched = try TinyJSONPatch.apply(patch, to: original)
    } catch {
        fatalError("generated patch does not apply: \(error)\npatch: \(String(decoding: patch, as: UTF8.self))")
    }
    // KateKube's model is stricter than kate's reader where the apiserver guarantees a field
    // (an ownerReference's apiVersion): only an object the model reads must still read patched.
    if decodesAsPod(original) { checkPatchedPod(patched, original: review.request, operations: operations) }
    return 0
}

private func decodesAsPod(_ object: Any) -> Bool {
    guard let json = try? JSONSerialization.data(withJSONObject: object) else { return false }
    return (try? JSONDecoder().decode(Pod.self, from: json)) != nil
}

/// `request.object` as the apiserver sent it (not as kate's model re-encodes it).
private func rawObject(_ body: [UInt8]) -> Any? {
    guard let root = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) as? [String: Any],
        let request = root["request"] as? [String: Any], let object = request["object"] as? [String: Any]
    else { return nil }
    return object
}

private func checkEncodedResponse(_ response: AdmissionResponse, version: AdmissionReviewVersion, uid: String) {
    let bytes = response.encode(version: version)
    guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
        let body = root["response"] as? [String: Any]
    else { fatalError("response is not a JSON object: \(String(decoding: bytes, as: UTF8.self))") }
    guard body["uid"] as? String == uid else { fatalError("response uid differs from the request's") }
    if let patch = body["patch"] as? String {
        guard let decoded = Data(base64Encoded: patch), (try? JSONSerialization.jsonObject(with: decoded)) is [Any] else {
            fatalError("response patch is not base64 of a JSON array")
        }
        guard body["patchType"] as? String == "JSONPatch" else { fatalError("patch without patchType JSONPatch") }
    }
}

private func checkPatchedPod(_ patched: Any, original: AdmissionRequest, operations: [PatchOperation]) {
    guard let json = try? JSONSerialization.data(withJSONObject: patched),
        let pod = try? JSONDecoder().decode(Pod.self, from: json)
    else { fatalError("patched object no longer decodes as a Pod") }
    let before = original.object.map { PinTargets.allSlots($0.spec) } ?? []
    let after = PinTargets.allSlots(pod.spec)
    for operation in operations where operation.path.hasSuffix("/image") {
        guard let slot = after.first(where: { $0.imagePath == operation.path }),
            let old = before.first(where: { $0.imagePath == operation.path })
        else { fatalError("patched \(operation.path), which is not a container image") }
        guard let new = try? ImageReference.parse(slot.image), let previous = try? ImageReference.parse(old.image) else {
            fatalError("pinned image \(slot.image) does not parse")
        }
        guard new.isPinned, new.registry == previous.registry, new.repository == previous.repository, new.tag == previous.tag else {
            fatalError("pinning changed the image: \(old.image) -> \(slot.image)")
        }
    }
    guard let annotation = pod.metadata.annotations?[KateAnnotations.originalImages],
        (try? JSONDecoder().decode([String: String].self, from: Data(annotation.utf8))) != nil
    else { fatalError("pinned pod lacks a readable \(KateAnnotations.originalImages) annotation") }
}
