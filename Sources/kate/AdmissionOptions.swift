import ArgumentParser
import KateNet
import Logging

// SEED written by the lead; the admission helper owns and replaces this file.
struct AdmissionOptions: ParsableArguments {
    /// Adds `POST /mutate` and `POST /validate` to the webhook's router.
    func install(into router: inout Router, logger: Logger) async throws {}
}
