// libFuzzer target: docker config parsing (`config.json`, legacy `.dockercfg`, and both as
// Secret data) and the keyring lookups built on it.
//
// Invariants beyond "no crash": the three entry points agree on plain `config.json` input;
// every entry has credentials; an entry for a plain registry host matches images on that host.
import Foundation
import KateRegistry

/// `ghcr.io`, `127.0.0.1:5000`: a key that names exactly one registry, no scheme, path or glob.
private func isPlainHost(_ server: String) -> Bool {
    !server.isEmpty && server.utf8.allSatisfy { b in
        (0x61...0x7A).contains(b) || (0x30...0x39).contains(b) || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
    } && !server.hasPrefix(".") && !server.hasSuffix(".")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDockerConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let json = Array(UnsafeBufferPointer(start: data, count: size))
    let modern = try? DockerConfig.parse(json: json)
    let legacy = try? DockerConfig.parseLegacy(json: json)
    let encoded = Data(json).base64EncodedString()
    let fromSecret = try? DockerConfig.fromSecret(type: "kubernetes.io/dockerconfigjson", data: [".dockerconfigjson": encoded])
    let fromLegacySecret = try? DockerConfig.fromSecret(type: "kubernetes.io/dockercfg", data: [".dockercfg": encoded])
    if modern != fromSecret { fatalError("config.json and the dockerconfigjson Secret with the same bytes disagree") }
    if legacy != fromLegacySecret { fatalError(".dockercfg and the dockercfg Secret with the same bytes disagree") }

    for config in [modern, legacy].compactMap({ $0 }) {
        let keyring = Keyring(sources: [(label: "fuzz", config: config)])
        for entry in config.entries {
            if entry.username == nil && entry.identityToken == nil && entry.registryToken == nil {
                fatalError("entry \(entry.server) kept without credentials")
            }
            _ = keyring.credentials(registry: entry.server, repository: "team/app")
            if isPlainHost(entry.server), keyring.credentials(registry: entry.server, repository: "team/app").isEmpty {
                fatalError("entry for \(entry.server) does not match \(entry.server)/team/app")
            }
        }
        _ = keyring.credentials(registry: "docker.io", repository: "library/nginx")
        _ = keyring.credentials(registry: "[::1]:5000", repository: "a")
    }
    return 0
}
