// libFuzzer target: the image reference parser (distribution/reference grammar + Hub normalisation).
//
// Invariants beyond "no crash":
// - parse(print(x)) == x: the canonical form (`description`) parses to the same registry,
//   repository, tag and digest, and printing that again gives the same text;
// - pinning keeps the user's spelling and parses to the same name and tag with the new digest;
// - accepted references are ASCII without whitespace (they end up in JSON Patches and logs).
import KateRegistry

private let digest = "sha256:" + String(repeating: "ab", count: 32)

private func sameName(_ a: ImageReference, _ b: ImageReference) -> Bool {
    a.registry == b.registry && a.repository == b.repository && a.tag == b.tag
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImageReference(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let reference = try? ImageReference.parse(text) else { return 0 }
    if reference.original != text { fatalError("original \(reference.original) differs from input \(text)") }
    if text.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
        fatalError("accepted a reference with whitespace, control or non-ASCII characters: \(text.debugDescription)")
    }
    if reference.registry.isEmpty || reference.repository.isEmpty { fatalError("empty registry or repository from \(text)") }

    let printed = reference.description
    let reparsed: ImageReference
    do {
        reparsed = try ImageReference.parse(printed)
    } catch {
        fatalError("canonical form \(printed) of \(text) does not parse: \(error)")
    }
    guard sameName(reference, reparsed), reference.digest == reparsed.digest else {
        fatalError("parse(print(x)) != x: \(text) -> \(printed) -> \(reparsed.description)")
    }
    if reparsed.description != printed { fatalError("printing is not stable: \(printed) -> \(reparsed.description)") }

    let pinnedText = reference.pinned(to: digest)
    guard let pinned = try? ImageReference.parse(pinnedText) else { fatalError("pinned form \(pinnedText) of \(text) does not parse") }
    guard sameName(reference, pinned), pinned.digest == digest, pinned.isPinned else {
        fatalError("pinning changed the name: \(text) -> \(pinnedText)")
    }
    if reference.trackedTag.isEmpty { fatalError("empty tracked tag for \(text)") }
    return 0
}
