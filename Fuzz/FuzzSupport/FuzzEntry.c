// The entry point every libFuzzer harness under Fuzz/fuzz-*/ shares, so a harness holds only its
// target: a Swift `@_cdecl("LLVMFuzzerTestOneInput")` function and the invariants it checks.
//
// SwiftPM links a debug executable on Linux with `main` renamed to `<module>_main`
// (`--defsym main=<module>_main`, so a test target could link the executable), and the harnesses
// are built with -parse-as-library, so nothing else defines that symbol. Package.swift's KATE_FUZZ
// section passes the harness modules as KATE_FUZZ_HARNESSES, an X-macro list
// `KATE_FUZZ_HARNESS(fuzz_chunked) KATE_FUZZ_HARNESS(fuzz_image_id) …`, and this file defines
// `<module>_main` for each: it hands argv over to libFuzzer with the harness's
// LLVMFuzzerTestOneInput. Each harness executable links every entry; only its own is `main`.
#include "FuzzSupport.h"

static int kate_fuzz_run(int argc, char **argv) {
    return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}

#ifndef KATE_FUZZ_HARNESSES
#error "KATE_FUZZ_HARNESSES is not set: build the fuzz targets with KATE_FUZZ=1 (scripts/fuzz.sh)"
#endif

#define KATE_FUZZ_HARNESS(module) \
    int module##_main(int argc, char **argv); \
    int module##_main(int argc, char **argv) { return kate_fuzz_run(argc, argv); }

KATE_FUZZ_HARNESSES
