#if canImport(Glibc)
import Glibc
#endif

/// How the agent asks glibc's allocator to give memory back.
///
/// The agent's large buffers are short-lived: the SLO refresh's window summaries and JSON body,
/// the `/metrics` text between chunks, catch-up batches. glibc
/// serves a request of at least `M_MMAP_THRESHOLD` with its own mapping, unmapped on free; but
/// once such a mapping is freed it raises the threshold to that size (up to 32 MiB), so from
/// then on these buffers are carved out of an arena, where their pages stay after they are
/// freed and fragment what long-lived data shares with them. A fixed threshold keeps large
/// buffers in their own mappings for good.
///
/// 1 MiB, not glibc's starting 128 KiB: `/metrics` goes out in chunks smaller than that, many
/// per scrape, which are then reused inside the arena instead of each paying for mmap, page
/// faults and munmap. The figures (RSS over 10 minutes with and without it) are in
/// docs/architecture.md, "Memory", measured with bench/scale.
public enum MallocTuning {
    /// Requests of at least this many bytes get their own mapping.
    public static let mmapThreshold: Int32 = 1 << 20

    /// Fixes the mmap threshold at `mmapThreshold` (call once, early). False when the C library
    /// has no `mallopt` (not glibc) or refused the value.
    @discardableResult
    public static func keepLargeBuffersSeparate() -> Bool {
        #if canImport(Glibc)
        guard let mallopt = Self.mallopt else { return false }
        return mallopt(mmapThresholdOption, mmapThreshold) == 1
        #else
        return false
        #endif
    }

    /// Hands the free pages inside the allocator's arenas back to the system (after a burst
    /// of allocations, such as an SLO refresh).
    public static func returnFreedMemory() {
        #if canImport(Glibc)
        _ = mallocTrim?(0)
        #endif
    }

    #if canImport(Glibc)
    /// `M_MMAP_THRESHOLD` from malloc.h.
    private static let mmapThresholdOption: Int32 = -3

    // malloc.h is not in Swift's Glibc module; its functions are looked up once.
    private static let mallopt: (@convention(c) (Int32, Int32) -> Int32)? = symbol("mallopt")
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = symbol("malloc_trim")

    private static func symbol<F>(_ name: String) -> F? {
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), name).map { unsafeBitCast($0, to: F.self) }
    }
    #endif
}
