import ArgumentParser
import Foundation
import KateNet
import Logging

/// Flags every subcommand shares. Each reads its environment variable when the flag is absent.
struct GlobalOptions: ParsableArguments {
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: KATE_LOG_LEVEL]")
    var logLevel: String = Environment.string("KATE_LOG_LEVEL") ?? "info"

    @Option(help: "Log format: text or json (one JSON object per line). [env: KATE_LOG_FORMAT]")
    var logFormat: String = Environment.string("KATE_LOG_FORMAT") ?? "text"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical (got \(logLevel))")
        }
        guard LogFormat(rawValue: logFormat) != nil else {
            throw ValidationError("--log-format must be text or json (got \(logFormat))")
        }
    }

    /// Bootstraps swift-log once for the process and returns the root logger.
    func bootstrapLogging(label: String) -> Logger {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        LoggingBootstrap.once(format: LogFormat(rawValue: logFormat) ?? .text, level: level)
        var logger = Logger(label: label)
        logger.logLevel = level
        return logger
    }
}

/// Environment lookups for flag defaults (so a Deployment can configure kate with `env:` alone).
enum Environment {
    static func string(_ name: String) -> String? {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    static func int(_ name: String) -> Int? { string(name).flatMap { Int($0) } }

    static func double(_ name: String) -> Double? { string(name).flatMap { Double($0) } }

    static func bool(_ name: String) -> Bool? {
        guard let value = string(name)?.lowercased() else { return nil }
        switch value {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: return nil
        }
    }

    /// A comma-separated list.
    static func list(_ name: String) -> [String]? {
        string(name).map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }
    }
}
