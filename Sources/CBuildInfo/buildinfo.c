#include "buildinfo.h"

#ifndef PHASEWATCH_REVISION
#define PHASEWATCH_REVISION "unknown"
#endif

const char *phasewatch_build_revision(void) { return PHASEWATCH_REVISION; }
