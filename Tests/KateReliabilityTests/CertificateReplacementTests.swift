import Foundation
import KateNet
import Logging
import Testing

extension Reliability {
    /// The serving certificate's files are replaced by something unusable (a botched cert-manager
    /// renewal, a Secret edited by hand). kate must keep serving the certificate it has, say in the
    /// log why the new one was refused, and pick up the next good one.
    @Suite("Certificate replaced by a broken one", .timeLimit(.minutes(1)))
    struct CertificateReplacementTests {
        enum Breakage: String, CaseIterable, CustomTestStringConvertible {
            case garbage, truncated, empty, keyFromAnotherCertificate
            var testDescription: String { rawValue }
        }

        /// Serves `/healthz` over TLS from files in `directory`.
        struct Rig {
            let ca: CertificateAuthority
            let directory: ScratchDirectory
            let context: TLSServerContext
            let server: HTTPServer
            let runTask: Task<Void, Never>
            let port: Int
            let logs: LogRecorder

            static func start() async throws -> Rig {
                let ca = try CertificateAuthority.generate(commonName: "reliability CA")
                let directory = try ScratchDirectory()
                let leaf = try ca.issue(commonName: "kate-original", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
                try directory.replace("tls.crt", with: leaf.certificatePEM)
                try directory.replace("tls.key", with: leaf.privateKeyPEM)
                let logs = LogRecorder()
                let context = try TLSServerContext(
                    certificateChain: .file(directory.file("tls.crt")), privateKey: .file(directory.file("tls.key")), logger: logs.logger("kate.tls"))
                let responder = ClosureResponder { _, _ in .text(200, "ok") }
                let server = HTTPServer(
                    configuration: HTTPServerConfiguration(host: "127.0.0.1", port: 0), tls: context, responder: responder, logger: Reliability.quietLogger)
                let port = try await server.start()
                let runTask = Task { await server.run() }
                return Rig(ca: ca, directory: directory, context: context, server: server, runTask: runTask, port: port, logs: logs)
            }

            func stop() async {
                context.stopWatching()
                await server.shutdown(gracePeriod: .milliseconds(200))
                await runTask.value
            }

            func breakFiles(_ breakage: Breakage) throws {
                let good = try ca.issue(commonName: "kate-broken-renewal", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
                switch breakage {
                case .garbage:
                    try directory.replace("tls.crt", with: "this is not a certificate\n")
                case .truncated:
                    try directory.replace("tls.crt", with: String(good.certificatePEM.prefix(good.certificatePEM.count / 2)))
                    try directory.replace("tls.key", with: good.privateKeyPEM)
                case .empty:
                    try directory.replace("tls.crt", with: "")
                case .keyFromAnotherCertificate:
                    let other = try ca.issue(commonName: "someone-else", dnsNames: ["localhost"])
                    try directory.replace("tls.crt", with: good.certificatePEM)
                    try directory.replace("tls.key", with: other.privateKeyPEM)
                }
            }
        }

        @Test("reload refuses the broken files, keeps serving the old certificate and logs why", arguments: Breakage.allCases)
        func brokenReplacement(_ breakage: Breakage) async throws {
            let rig = try await Rig.start()
            let before = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM)
            #expect(before.subject?.contains("kate-original") == true, "\(before)")

            try rig.breakFiles(breakage)
            #expect(rig.context.reloadIfChanged() == false)
            #expect(rig.context.reloadCount == 0)

            let after = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM)
            #expect(after.subject?.contains("kate-original") == true, "a new handshake got \(after.subject ?? "nothing")")
            #expect(after.status == 200)
            let complaint = rig.logs.entries.first { $0.level >= .error }
            #expect(complaint?.text.contains("previous certificate") == true, "\(rig.logs.entries.map(\.text))")
            #expect(complaint?.text.contains(rig.directory.file("tls.crt")) == true, "the log line does not name the file")

            // The next good renewal is picked up.
            let renewed = try rig.ca.issue(commonName: "kate-renewed", dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"])
            try rig.directory.replace("tls.key", with: renewed.privateKeyPEM)
            try rig.directory.replace("tls.crt", with: renewed.certificatePEM)
            #expect(rig.context.reloadIfChanged())
            let recovered = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM)
            #expect(recovered.subject?.contains("kate-renewed") == true, "\(recovered)")
            await rig.stop()
        }

        @Test("the file watcher notices a broken replacement on its own and the server keeps answering")
        func watcherKeepsServing() async throws {
            let rig = try await Rig.start()
            rig.context.startWatching(every: .milliseconds(50))
            try rig.breakFiles(.garbage)
            let complaint = await rig.logs.first(within: .seconds(5)) { $0.level >= .error }
            #expect(complaint != nil, "no error logged within 5 s of the certificate file breaking")
            for _ in 0..<5 {
                let probe = try await TLSProbe.probe(port: rig.port, trusting: rig.ca.certificatePEM)
                #expect(probe.status == 200)
                #expect(probe.subject?.contains("kate-original") == true)
            }
            await rig.stop()
        }
    }
}
