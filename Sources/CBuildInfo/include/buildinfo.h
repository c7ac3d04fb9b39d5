#ifndef PHASEWATCH_BUILDINFO_H
#define PHASEWATCH_BUILDINFO_H

/// The git commit phasewatch was built from ("unknown" outside a git checkout, "-dirty" with
/// uncommitted changes): Package.swift passes it in as a C string, which Swift cannot take.
const char *phasewatch_build_revision(void);

#endif
