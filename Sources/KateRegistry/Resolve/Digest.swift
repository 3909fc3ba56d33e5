import KateNet

/// Content digests: `sha256:` + lowercase hex of the exact bytes (never re-serialised JSON).
enum Digest {
    static func sha256Hex(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
    static func sha256(_ bytes: [UInt8]) -> String { "sha256:" + sha256Hex(bytes) }
}
