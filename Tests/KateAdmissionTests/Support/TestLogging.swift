import Logging

enum TestLogging {
    /// Tests assert on answers and metrics, not on log output; keep the run readable.
    static let quiet: Logger = {
        var logger = Logger(label: "kate.admission.test")
        logger.logLevel = .critical
        return logger
    }()
}
