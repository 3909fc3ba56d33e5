import Foundation
import KateNet
import KubeTestServer
import Logging

// kate-dev-apiserver: the tests' Kubernetes API server (KubeTestServer) as a process, for the demo
// and for driving it with clients kate did not write (kubectl, the Python client). Loopback only.
//
//   kate-dev-apiserver --kubeconfig /tmp/demo/kubeconfig [--seed objects.yaml]...
//                      [--controllers] [--admission-webhook https://localhost:8443/mutate --webhook-ca kate-ca.pem]
//                      [--ready-file /tmp/demo/apiserver.ready]
//
// SIGUSR1 expires every continue token issued so far (an etcd compaction).
// It prints one line `kate-dev-apiserver: serving https://127.0.0.1:PORT` when ready, writes the
// kubeconfig (the server's CA, a bearer token), and stops on SIGTERM or SIGINT.

let usage = """
    usage: kate-dev-apiserver --kubeconfig FILE [--seed FILE]... [--controllers]
                              [--admission-webhook URL --webhook-ca FILE] [--ready-file FILE] [--log-level LEVEL]
                              [--watch-bookmark-interval SECONDS] [--watch-history COUNT]

      --kubeconfig FILE         where to write a kubeconfig for this server (context kate-dev)
      --seed FILE               objects to store at start: JSON (an object, an array, or a List) or YAML (documents)
      --controllers             run a minimal deployment controller and kubelet: a Deployment's template
                                change rolls out a new ReplicaSet whose pods are created through the
                                admission webhook (when given) and reported Running with the imageID
                                of the image they were admitted with
      --admission-webhook URL   the mutating webhook pods are sent to, as kube-apiserver sends them
                                (AdmissionReview v1, ?timeout=10s); its JSON patches are applied
      --webhook-ca FILE         the CA bundle that verifies the webhook's certificate (the only trust root)
      --ready-file FILE         written (with the URL) once serving, removed on exit
      --watch-bookmark-interval SECONDS
                                how often watches with allowWatchBookmarks=true get a BOOKMARK (default 60)
      --watch-history COUNT     changes kept for watches (default 1000); a watch from before them gets 410

    SIGTERM or SIGINT stops it; SIGUSR1 expires every continue token issued so far (a compaction).
    """

struct Options {
    var kubeconfig: String?
    var seeds: [String] = []
    var controllers = false
    var webhookURL: String?
    var webhookCA: String?
    var readyFile: String?
    var logLevel = Logger.Level.info
    var watchBookmarkInterval: Double?
    var watchHistory: Int?

    static func parse(_ arguments: [String]) throws(UsageError) -> Options {
        var options = Options()
        var rest = arguments[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let next = rest.popFirst() else { throw UsageError(message: "\(flag) needs a value") }
            return next
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--kubeconfig": options.kubeconfig = try value(argument)
            case "--seed": options.seeds.append(try value(argument))
            case "--controllers": options.controllers = true
            case "--admission-webhook": options.webhookURL = try value(argument)
            case "--webhook-ca": options.webhookCA = try value(argument)
            case "--ready-file": options.readyFile = try value(argument)
            case "--log-level":
                let text = try value(argument)
                guard let level = Logger.Level(rawValue: text) else { throw UsageError(message: "--log-level \(text): use trace, debug, info, notice, warning or error") }
                options.logLevel = level
            case "--watch-bookmark-interval":
                let text = try value(argument)
                guard let seconds = Double(text), seconds > 0 else { throw UsageError(message: "--watch-bookmark-interval \(text): give seconds > 0") }
                options.watchBookmarkInterval = seconds
            case "--watch-history":
                let text = try value(argument)
                guard let count = Int(text), count > 0 else { throw UsageError(message: "--watch-history \(text): give a count > 0") }
                options.watchHistory = count
            case "-h", "--help": throw UsageError(message: "")
            default: throw UsageError(message: "unknown argument \(argument)")
            }
        }
        guard options.kubeconfig != nil else { throw UsageError(message: "--kubeconfig FILE is required") }
        if (options.webhookURL == nil) != (options.webhookCA == nil) {
            throw UsageError(message: "--admission-webhook and --webhook-ca go together (the webhook is verified against that CA only)")
        }
        return options
    }
}

struct UsageError: Error {
    let message: String
}

/// One line to stdout, unbuffered (a script waiting for it may be reading a file).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("kate-dev-apiserver: \(message)\n".utf8))
    exit(1)
}

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    if !error.message.isEmpty { FileHandle.standardError.write(Data("kate-dev-apiserver: \(error.message)\n".utf8)) }
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(error.message.isEmpty ? 0 : 2)
}

LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = options.logLevel
    return handler
}
let logger = Logger(label: "kate-dev-apiserver")

/// SIGTERM/SIGINT end the wait below; the server is then stopped and files removed.
let stopSignal = AsyncStream<Int32> { continuation in
    // The sources must outlive this closure (a released source stops delivering): the stream's
    // termination handler owns them.
    let sources = [SIGTERM, SIGINT].map { signalNumber in
        signal(signalNumber, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
        source.setEventHandler { continuation.yield(signalNumber) }
        source.resume()
        return source
    }
    nonisolated(unsafe) let kept = sources
    continuation.onTermination = { _ in kept.forEach { $0.cancel() } }
}

Task {
    let server: KubeTestServer
    do {
        server = try await KubeTestServer.start(logger: Logger(label: "kate.kube-test-server"))
    } catch {
        fail("cannot start the API server: \(error)")
    }
    if let seconds = options.watchBookmarkInterval { server.setWatchBookmarkInterval(.milliseconds(Int(seconds * 1000))) }
    if let count = options.watchHistory { server.setWatchHistoryLimit(count) }
    do {
        for seed in options.seeds { try SeedFile.load(seed, into: server) }
        try Kubeconfig.write(to: options.kubeconfig ?? "", server: server)
        if let readyFile = options.readyFile { try Data((server.url + "\n").utf8).write(to: URL(fileURLWithPath: readyFile)) }
    } catch {
        await server.stop()
        fail("\(error)")
    }
    say("kate-dev-apiserver: serving \(server.url) (kubeconfig \(options.kubeconfig ?? ""))")

    let admission = options.webhookURL.map { url in
        AdmissionCaller(url: url, caFile: options.webhookCA ?? "", logger: logger)
    }
    let controllers = options.controllers ? Task { await ControllerLoop(server: server, admission: admission, logger: logger).run() } : nil

    // SIGUSR1: every continue token issued so far expires (410), as after an etcd compaction;
    // the client-fidelity tests use it to see a real client's answer to an expired token.
    signal(SIGUSR1, SIG_IGN)
    let compaction = DispatchSource.makeSignalSource(signal: SIGUSR1, queue: .main)
    compaction.setEventHandler {
        server.compact()
        logger.info("compacted: earlier continue tokens now answer 410 Expired")
    }
    compaction.resume()
    defer { compaction.cancel() }

    var signals = stopSignal.makeAsyncIterator()
    let received = await signals.next()
    logger.info("stopping", metadata: ["signal": "\(received ?? 0)"])
    controllers?.cancel()
    await controllers?.value
    await admission?.shutdown()
    await server.stop()
    if let readyFile = options.readyFile { try? FileManager.default.removeItem(atPath: readyFile) }
    exit(0)
}

dispatchMain()
