import Foundation
import KateNet

/// The codec of `kate.dev/original-images`: a flat JSON object, container key → image as the user wrote it,
/// keys in sorted order so that equal maps are equal bytes (a re-pin does not churn the pod).
///
/// The webhook encodes it (and merges into a value already on the pod); the sweeper decodes it to learn the tag a
/// pinned container tracks. Both go through here, so the format cannot drift between them.
public enum OriginalImages {
    /// `{"app":"nginx:1.27","sidecar":"envoy:v1"}`.
    public static func encode(_ images: [String: String]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(32 * images.count + 2)
        for (index, key) in images.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONEscaping.appendQuoted(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            JSONEscaping.appendQuoted(images[key] ?? "", to: &bytes)
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The map, or nil when the value is absent or is not a JSON object of strings (hand-edited, truncated):
    /// callers then start afresh (webhook) or track the spec's image (sweeper); a broken annotation is never fatal.
    /// Only read for pods that carry the annotation (the sweeper; an UPDATE adding an ephemeral container), so
    /// Foundation's decoder costs nothing on the webhook's CREATE path.
    public static func decode(_ annotation: String?) -> [String: String]? {
        guard let annotation, !annotation.isEmpty else { return nil }
        return try? JSONDecoder().decode([String: String].self, from: Data(annotation.utf8))
    }

    /// `existing` (as found on the pod) with `pinned` laid over it: an ephemeral container added later joins the
    /// containers pinned at CREATE.
    public static func merging(_ pinned: [String: String], into existing: String?) -> String {
        var merged = decode(existing) ?? [:]
        merged.merge(pinned) { _, new in new }
        return encode(merged)
    }
}
