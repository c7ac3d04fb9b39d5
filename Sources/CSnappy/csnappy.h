// The system's snappy (Debian's libsnappy) for Swift, through its C API: remote-write bodies
// are snappy's block format (docs/remote-write.md).
#ifndef CSNAPPY_H
#define CSNAPPY_H

#include <snappy-c.h>

#endif
