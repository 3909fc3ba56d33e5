import ArgumentParser
import Foundation
import KateRegistry
import Logging

/// `kate resolve IMAGE…`: what each tag points at now, as the webhook would pin it.
struct ResolveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resolve",
        abstract: "Resolve image tags to registry digests.",
        discussion: """
            Prints IMAGE<TAB>DIGEST per image (the index digest for multi-arch images, as kubelet pulls it).
            Images are resolved concurrently; output keeps the order given. Exits 1 if any image failed,
            with one line per failure on stderr saying what to fix.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var registry: RegistryOptions

    @Option(help: "text (IMAGE<TAB>DIGEST) or json. [env: KATE_OUTPUT]")
    var output: String = Environment.string("KATE_OUTPUT") ?? "text"

    @Flag(help: "Also list the per-platform manifest digests of multi-arch images. [env: KATE_PLATFORMS]")
    var platforms: Bool = Environment.bool("KATE_PLATFORMS") ?? false

    @Argument(help: "Image references: nginx:1.27, ghcr.io/org/app:v1, registry.local:5000/team/app")
    var images: [String] = []

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("--output must be text or json (got \(output))") }
        guard !images.isEmpty else { throw ValidationError("name at least one image") }
    }

    func run() async throws {
        let logger = global.bootstrapLogging(label: "kate.resolve")
        let resolver = try registry.makeResolver(logger: logger)
        let keyring = try registry.loadKeyring()
        let results = await resolveAll(resolver: resolver, keyring: keyring)
        await resolver.shutdown()
        var failures = 0
        var rows: [ResolvedRow] = []
        for (image, result) in zip(images, results) {
            switch result {
            case .success(let row): rows.append(row)
            case .failure(let message):
                failures += 1
                FileHandle.standardError.write(Data("\(image): \(message)\n".utf8))
            }
        }
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(rows), as: UTF8.self))
        } else {
            for row in rows { print("\(row.reference)\t\(row.digest)") }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    private enum Outcome: Sendable {
        case success(ResolvedRow)
        case failure(String)
    }

    private func resolveAll(resolver: Resolver, keyring: Keyring) async -> [Outcome] {
        await withTaskGroup(of: (Int, Outcome).self) { group in
            for (index, image) in images.enumerated() {
                group.addTask {
                    let outcome = await resolveOne(image, resolver: resolver, keyring: keyring)
                    return (index, outcome)
                }
            }
            var outcomes = [Outcome](repeating: .failure("not resolved"), count: images.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
    }

    private func resolveOne(_ image: String, resolver: Resolver, keyring: Keyring) async -> Outcome {
        do {
            let reference = try ImageReference.parse(image)
            let resolved = try await resolver.resolve(reference, keyring: keyring, deadline: .now + .seconds(300))
            var children: [String]?
            if platforms {
                children = try await resolver.platformDigests(reference, indexDigest: resolved.digest, keyring: keyring, deadline: .now + .seconds(300)).sorted()
            }
            return .success(ResolvedRow(
                reference: image, name: reference.canonicalName, registry: reference.registry, tag: reference.tag,
                digest: resolved.digest, mediaType: resolved.mediaType, platforms: children))
        } catch {
            return .failure("\(error)")
        }
    }
}

/// One line of `--output json`.
struct ResolvedRow: Codable, Sendable {
    let reference: String
    let name: String
    let registry: String
    let tag: String?
    let digest: String
    let mediaType: String?
    let platforms: [String]?
}
