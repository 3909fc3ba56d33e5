import ArgumentParser
import KateNet

/// The digest ledger's flags, shared by `kate webhook` and `kate sweep` (one declaration, one rule):
/// whether the ledger is kept, and the cooldown counted from its first-seen times.
struct LedgerOptions: ParsableArguments {
    @Flag(help: "Keep the digest ledger (ImageTagHistory objects in kate's namespace, the chart's ledger.enabled): every replica and sweep records when it first saw each digest of each tag; the webhook follows it with a watch (a push recorded by one replica drops the tag from every replica's cache). Needs --own-namespace (POD_NAMESPACE in the chart). [env: KATE_LEDGER]")
    var ledger: Bool = Environment.bool("KATE_LEDGER") ?? false

    @Option(help: ArgumentHelp(
        "Adopt a digest only once kate has known it this long (first seen in the ledger, by any replica or sweep), e.g. 72h. Until then the webhook pins the tag's newest digest that old (none known: the new one, with a warning) and the sweeper reports cooling-down and rolls nothing. A namespace label kate.dev/cooldown=DURATION replaces it there (0: off). Needs --ledger. 0: off. [env: KATE_COOLDOWN]",
        valueName: "duration"))
    var cooldown: String = Environment.string("KATE_COOLDOWN") ?? "0"

    var cooldownDuration: Duration { GoDuration.parse(cooldown) ?? .zero }

    func validate(ownNamespace: String) throws {
        guard let duration = GoDuration.parse(cooldown), duration >= .zero else {
            throw ValidationError("--cooldown must be a duration like 72h or 30m, or 0 for off (got \(cooldown))")
        }
        if duration > .zero, !ledger {
            throw ValidationError("--cooldown needs --ledger: when kate first saw a digest is kept in the ledger (the chart's ledger.enabled)")
        }
        if ledger, ownNamespace.isEmpty {
            throw ValidationError("--ledger needs kate's namespace for the ImageTagHistory objects: give --own-namespace (or set POD_NAMESPACE)")
        }
    }
}
