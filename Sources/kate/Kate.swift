import ArgumentParser
import KateNet
import Logging

/// kate: makes the image a pod runs equal to what the registry says its tag means.
@main
struct Kate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kate",
        abstract: "Pin Kubernetes pod images to registry digests and keep them current.",
        discussion: """
            kate webhook   serve the mutating admission webhook (pins tag -> tag@sha256 on Pod CREATE)
            kate sweep     find pods whose running digest went stale and roll their owners
            kate resolve   resolve image tags to registry digests from a shell
            Every flag can also be set through an environment variable: KATE_ plus the flag name in
            upper case with dashes as underscores (--log-format -> KATE_LOG_FORMAT).
            """,
        version: KateVersion.current,
        subcommands: [WebhookCommand.self, SweepCommand.self, ResolveCommand.self]
    )
}
