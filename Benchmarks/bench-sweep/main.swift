// bench-sweep: the old tool's loop (sequential `skopeo inspect` per pod) against kate's sweeper,
// with the registry behind a 50 ms-per-round-trip proxy, then kate alone at 10,000 pods / 500 tags.
//
// The sweeps run in a child process (this binary with `--child`) so its wall time and peak RSS
// (VmHWM) are the sweeper's alone, not the test API server's that holds the 10,000 pods.
import Foundation

if CommandLine.arguments.dropFirst().first == "--child" {
    await ChildSweep.main()
} else {
    do {
        try await BenchDriver.main()
    } catch {
        FileHandle.standardError.write(Data("bench-sweep failed: \(error)\n".utf8))
        exit(1)
    }
}
