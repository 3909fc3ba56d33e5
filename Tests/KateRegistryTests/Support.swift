import KateRegistry
import Logging
import MetricsTestKit
import RegistryTestSupport

/// A resolver wired to one test registry (and its CA), reporting into its own TestMetrics.
func makeResolver(
    for registry: TestRegistry? = nil, scripted: [String] = [], metrics: TestMetrics = TestMetrics(),
    configure: (inout ResolverConfiguration) -> Void = { _ in }
) -> Resolver {
    var configuration = ResolverConfiguration(retryBaseDelay: .milliseconds(10), metricsFactory: metrics)
    if let registry { configuration.registries[registry.host] = registry.settings }
    for host in scripted { configuration.registries[host] = RegistrySettings(plainHTTP: true) }
    configure(&configuration)
    var logger = Logger(label: "test.resolver")
    logger.logLevel = .critical
    return Resolver(configuration: configuration, logger: logger)
}

func soon(_ seconds: Int = 10) -> ContinuousClock.Instant { .now + .seconds(seconds) }

