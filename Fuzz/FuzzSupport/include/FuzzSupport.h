// The contract between libFuzzer, the harnesses under Fuzz/fuzz-*/ and FuzzEntry.c.
#ifndef KATE_FUZZ_SUPPORT_H
#define KATE_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/// Defined by each harness (`@_cdecl("LLVMFuzzerTestOneInput")` in Swift): runs one input,
/// returns 0, and stops the run (fatalError) when an invariant fails.
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/// libFuzzer's driver (linked by `-sanitize=fuzzer`): parses the libFuzzer flags in argv and fuzzes
/// `callback`, or replays the files named in argv.
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
