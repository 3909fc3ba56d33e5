import Foundation
import Glibc
import KateSweeper
import Testing

extension Reliability {
    /// The sweeper's `--metrics-file` lands on a full disk. The error must name the file and say the
    /// disk is full; nothing half-written may be left for node-exporter to scrape.
    @Suite("Metrics file on a full disk", .timeLimit(.minutes(1)))
    struct MetricsFileDiskFullTests {
        static let metrics = Array("# TYPE kate_sweep_pods gauge\nkate_sweep_pods{verdict=\"current\"} 3\n".utf8)

        @Test("the temporary file hits ENOSPC: reported with the path and reason, no file left behind")
        func temporaryFileOnFullDisk() throws {
            let directory = try ScratchDirectory()
            let target = directory.file("kate.prom")
            // MetricsFile writes `.<name>.<pid>.tmp` next to the target, then renames it. Pointing that
            // name at /dev/full makes the write fail exactly as on a full filesystem (ENOSPC).
            let temporary = directory.file(".kate.prom.\(getpid()).tmp")
            #expect(symlink("/dev/full", temporary) == 0)
            let error = #expect(throws: MetricsFileError.self) { try MetricsFile.write(Self.metrics, to: target) }
            #expect(error?.path == target)
            #expect(error?.description.lowercased().contains("space") == true, "\(error.map { "\($0)" } ?? "")")
            #expect(!FileManager.default.fileExists(atPath: target), "a metrics file appeared although the write failed")
            #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: temporary)) == nil, "the temporary was not cleaned up")
        }

        @Test("a full disk leaves the previous metrics file intact (a scrape never sees a torn file)")
        func previousFileSurvives() throws {
            let directory = try ScratchDirectory()
            let target = directory.file("kate.prom")
            try MetricsFile.write(Array("previous\n".utf8), to: target)
            #expect(symlink("/dev/full", directory.file(".kate.prom.\(getpid()).tmp")) == 0)
            #expect(throws: MetricsFileError.self) { try MetricsFile.write(Self.metrics, to: target) }
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "previous\n")
        }

        /// `--metrics-file /dev/full` (or any device, FIFO or `/dev/stdout`): the write must go to the
        /// device and its error be reported, not a temporary renamed over the device node (which as root
        /// would REPLACE the device with a regular file and report success). Tested on a private copy of
        /// /dev/full (mknod c 1 7), never on /dev itself.
        @Test("a metrics path that is a character device (/dev/full) is written through, not replaced")
        func deviceNodeIsNotReplaced() throws {
            let directory = try ScratchDirectory()
            let device = directory.file("full")
            guard mknod(device, S_IFCHR | 0o666, (1 << 8) | 7) == 0 else {
                // Without CAP_MKNOD there is nothing to demonstrate on; say so rather than pass silently.
                Issue.record("mknod failed (errno \(errno)); cannot create a private /dev/full to test with")
                return
            }
            #expect(throws: MetricsFileError.self) { try MetricsFile.write(Self.metrics, to: device) }
            var info = stat()
            #expect(lstat(device, &info) == 0)
            #expect(info.st_mode & S_IFMT == S_IFCHR, "the character device was replaced by a regular file")
        }
    }
}
