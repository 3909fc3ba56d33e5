// swift-tools-version:6.2
import PackageDescription

// kate: pins Pod images to registry digests (admission webhook) and rolls workloads whose
// running digest went stale (sweeper). One module per concern; dependencies point one way:
//   COpenSSL/CKateShims → KateNet → KateRegistry, KateKube → KateContract → KateAdmission, KateSweeper → kate

let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let metricsTestKit: Target.Dependency = .product(name: "MetricsTestKit", package: "swift-metrics")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

var targets: [Target] = [
    .systemLibrary(
        name: "COpenSSL",
        path: "Sources/COpenSSL",
        pkgConfig: "openssl",
        providers: [.apt(["libssl-dev"])]
    ),
    .target(
        name: "CKateShims",
        dependencies: ["COpenSSL"],
        path: "Sources/CKateShims",
        cSettings: [.define("_GNU_SOURCE")]
    ),
    .target(name: "KateNet", dependencies: ["COpenSSL", "CKateShims", logging, metrics], swiftSettings: strict),
    .target(name: "KateRegistry", dependencies: ["KateNet", logging, metrics], swiftSettings: strict),
    .target(name: "KateKube", dependencies: ["KateNet", logging, metrics, yams], swiftSettings: strict),
    // The webhook↔sweeper contract: annotation and label keys, their codec, the opt-out rule, the digest ledger
    // both read (ImageTagHistory objects through KateKube), and the pull-secret keychain both sides build
    // credentials with (hence KateRegistry's Keyring and KateKube's reads).
    .target(name: "KateContract", dependencies: ["KateNet", "KateRegistry", "KateKube", logging, metrics], swiftSettings: strict),
    .target(name: "KateAdmission", dependencies: ["KateNet", "KateRegistry", "KateKube", "KateContract", logging, metrics], swiftSettings: strict),
    .target(name: "KateSweeper", dependencies: ["KateRegistry", "KateKube", "KateContract", logging, metrics], swiftSettings: strict),
    .executableTarget(
        name: "kate",
        dependencies: ["KateNet", "KateRegistry", "KateKube", "KateContract", "KateAdmission", "KateSweeper", argumentParser, logging, metrics, prometheus],
        swiftSettings: strict
    ),

    // Test support: real servers the tests (and benchmarks) start on loopback ports.
    .target(name: "RegistryTestSupport", dependencies: ["KateNet", "KateRegistry", "COpenSSL", logging], swiftSettings: strict),
    .target(name: "KubeTestServer", dependencies: ["KateNet", "KateKube", logging], resources: [.copy("Fixtures")], swiftSettings: strict),

    .testTarget(name: "KateNetTests", dependencies: ["KateNet", "RegistryTestSupport", metricsTestKit], swiftSettings: strict),
    .testTarget(name: "KateRegistryTests", dependencies: ["KateRegistry", "RegistryTestSupport", metricsTestKit], swiftSettings: strict),
    .testTarget(name: "KateKubeTests", dependencies: ["KateKube", "KateContract", "KubeTestServer"], swiftSettings: strict),
    .testTarget(
        name: "KateAdmissionTests",
        dependencies: ["KateAdmission", "KateContract", "RegistryTestSupport", "KubeTestServer", metricsTestKit],
        swiftSettings: strict
    ),
    .testTarget(
        name: "KateSweeperTests",
        dependencies: ["KateSweeper", "KateContract", "RegistryTestSupport", "KubeTestServer", metricsTestKit],
        swiftSettings: strict
    ),

    // A Swift 6.3.1 -O miscompile kate works around (scripts/lint/async-tuples.py). Optimized in every
    // configuration so that the debug test run reproduces it too.
    .testTarget(
        name: "ToolchainRegressionTests",
        path: "Tests/ToolchainRegressionTests",
        swiftSettings: strict + [.unsafeFlags(["-O"])]
    ),

    // Fault injection and end-to-end reliability checks across modules (issue: hardening).
    .testTarget(
        name: "KateReliabilityTests",
        dependencies: [
            "KateNet", "KateRegistry", "KateKube", "KateContract", "KateAdmission", "KateSweeper", "RegistryTestSupport", "KubeTestServer",
        ],
        swiftSettings: strict
    ),

    // A Kubernetes API for demos and client-fidelity tests (scripts/demo.sh, scripts/test-clients.sh):
    // KubeTestServer on loopback with a kubeconfig. Never part of the shipped `kate` product.
    .executableTarget(name: "kate-dev-apiserver", dependencies: ["KubeTestServer", "KateNet", yams, logging], swiftSettings: strict),

    // Benchmarks: executables, run by scripts/bench.sh; never part of `swift test`.
    .executableTarget(name: "bench-net", dependencies: ["KateNet", logging], path: "Benchmarks/bench-net", swiftSettings: strict),
    .executableTarget(name: "bench-registry", dependencies: ["KateNet", "KateRegistry", "RegistryTestSupport", logging], path: "Benchmarks/bench-registry", swiftSettings: strict),
    .executableTarget(name: "bench-kube", dependencies: ["KateKube", "KubeTestServer", logging], path: "Benchmarks/bench-kube", swiftSettings: strict),
    .executableTarget(
        name: "bench-ledger", dependencies: ["KateNet", "KateRegistry", "KateContract", "KateKube", "KateAdmission", "RegistryTestSupport", "KubeTestServer", logging], path: "Benchmarks/bench-ledger", swiftSettings: strict
    ),
    .executableTarget(
        name: "bench-admission",
        dependencies: ["KateAdmission", "RegistryTestSupport", "KubeTestServer", logging],
        path: "Benchmarks/bench-admission",
        swiftSettings: strict
    ),
    .executableTarget(
        name: "bench-sweep",
        dependencies: ["KateNet", "KateSweeper", "RegistryTestSupport", "KubeTestServer", logging],
        path: "Benchmarks/bench-sweep",
        swiftSettings: strict
    ),
]

// Fuzz targets (libFuzzer): only with KATE_FUZZ=1, because they are built with
// `-sanitize=fuzzer,address -parse-as-library` and have no `main`; see scripts/fuzz.sh. A harness
// holds only its `LLVMFuzzerTestOneInput`; `FuzzSupport` (C) defines each harness's `<module>_main`
// from the list passed to it here and hands over to libFuzzer.
if Context.environment["KATE_FUZZ"] == "1" {
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("fuzz-http-request", ["KateNet"]),
        ("fuzz-chunked", ["KateNet"]),
        ("fuzz-admission", ["KateAdmission", "KateContract"]),
        ("fuzz-image-reference", ["KateRegistry"]),
        ("fuzz-www-authenticate", ["KateRegistry"]),
        ("fuzz-docker-config", ["KateRegistry"]),
        ("fuzz-image-id", ["KateRegistry", "KateSweeper"]),
    ]
    // SwiftPM's c99 name of each harness module (`fuzz-image-id` → `fuzz_image_id`), as an X-macro list.
    let harnesses = fuzzTargets.map { "KATE_FUZZ_HARNESS(\(String($0.name.map { $0 == "-" ? "_" : $0 })))" }
    targets.append(.target(
        name: "FuzzSupport", path: "Fuzz/FuzzSupport",
        cSettings: [.define("KATE_FUZZ_HARNESSES", to: harnesses.joined(separator: " "))]
    ))
    for fuzz in fuzzTargets {
        targets.append(.executableTarget(
            name: fuzz.name, dependencies: fuzz.dependencies + ["FuzzSupport"], path: "Fuzz/\(fuzz.name)",
            swiftSettings: strict + [.unsafeFlags(["-parse-as-library"])]
        ))
    }
}

// Development aid: `KATE_ONLY=KateRegistryTests swift build --build-tests` keeps only the named
// targets and what they depend on, so one module can be built and tested while another is mid-edit.
// Unset (CI, users) the whole package is built.
if let only = Context.environment["KATE_ONLY"], !only.isEmpty {
    let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
    var keep = Set<String>()
    var queue = only.split(separator: ",").map { String($0) }
    while let name = queue.popLast() {
        guard let target = byName[name], keep.insert(name).inserted else { continue }
        for dependency in target.dependencies {
            if case .byNameItem(let dep, _) = dependency { queue.append(dep) }
            if case .targetItem(let dep, _) = dependency { queue.append(dep) }
        }
    }
    targets = targets.filter { keep.contains($0.name) }
}

// Linux only: the I/O layer is epoll (Sources/KateNet/IO/Posix.swift stops the build elsewhere with #error), so the
// manifest names no Apple platform and no Homebrew provider.
let package = Package(
    name: "kate",
    products: targets.contains { $0.name == "kate" } ? [.executable(name: "kate", targets: ["kate"])] : [],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
    ],
    targets: targets
)
