// libFuzzer target: `status.containerStatuses[].imageID` parsing (containerd, CRI-O, dockershim).
//
// Invariants beyond "no crash": a digest result carries a valid sha256 digest that appears in
// the input after an "@", and a non-empty repository; printing `repository@digest` and parsing
// again keeps the digest (the sweeper compares these across pods).
import KateRegistry
import KateSweeper

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageID(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let running = ImageID.parse(text)
    switch running {
    case .digest(let repository, let digest):
        guard Digest.isSHA256(digest) else { fatalError("digest \(digest.debugDescription) is not sha256:<64 hex>") }
        guard text.contains("@" + digest) else { fatalError("digest \(digest) is not in \(text.debugDescription)") }
        guard !repository.isEmpty else { fatalError("empty repository from \(text.debugDescription)") }
        // Printing `repository@digest` and parsing again keeps the digest (unless the "repository"
        // itself starts with a second runtime prefix, which the re-parse strips: garbage either way).
        let doublePrefixed = ["docker://", "docker-pullable://"].contains { repository.hasPrefix($0) }
        let again = ImageID.parse(repository + "@" + digest)
        if !doublePrefixed, again.digest != digest {
            fatalError("parse(print(x)) lost the digest: \(text.debugDescription) -> \(again)")
        }
    case .unknown(let reason):
        if reason.isEmpty { fatalError("unknown without a reason") }
        if running.digest != nil { fatalError("unknown carries a digest") }
    }
    _ = ImageDigest.short(running.digest)
    return 0
}
