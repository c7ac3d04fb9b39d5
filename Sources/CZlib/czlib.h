// The system's zlib for Swift (libz, which libcurl links too), for gzip responses.
#ifndef CZLIB_H
#define CZLIB_H

// `next_in` as a const pointer: zlib never writes to its input.
#define ZLIB_CONST
#include <zlib.h>

// deflateInit2 is a macro (it passes zlib's version and the stream's size), which Swift cannot
// call: a gzip stream (window bits 15 + 16: a gzip header and trailer, not zlib's) at `level`.
static inline int czlib_deflate_init_gzip(z_streamp stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
