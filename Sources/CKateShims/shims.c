// SwiftPM C targets need at least one source file; most shims are static inline in the header.
#include "CKateShims.h"
