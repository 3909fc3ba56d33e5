import KateNet
import Testing

@testable import KateRegistry

@Suite("Digest")
struct DigestTests {
    @Test("sha256 of the exact bytes; only sha256:<64 lowercase hex> is a digest kate trusts")
    func digest() {
        // FIPS 180-2's "abc" vector.
        #expect(Digest.sha256(Array("abc".utf8)) == "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.isSHA256(Digest.sha256([])))
        for bad in ["", "sha256:", "sha256:" + String(repeating: "A", count: 64), "sha256:" + String(repeating: "a", count: 63),
                    "sha512:" + String(repeating: "a", count: 64), "sha256:" + String(repeating: "g", count: 64)] {
            #expect(!Digest.isSHA256(bad), "\(bad)")
        }
        #expect(ManifestFetcher.validDigest(" " + Digest.sha256([]) + " ") == Digest.sha256([]))
        #expect(ManifestFetcher.validDigest("sha256:abc") == nil)
    }

    @Test("the short form the webhook's warnings and the sweeper's table show")
    func short() {
        #expect(Digest.short("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == "sha256:ba7816bf8f01")
        #expect(Digest.short("md5:abc") == "md5:abc")
    }
}
