#if canImport(Glibc)
import Glibc
#endif

/// Probing comes first. The curl loop's thread (scheduler timers, every transfer) keeps the
/// default priority; threads that serve HTTP requests or do the database's heavy work (the SLO
/// refresh's reads, batch inserts, retention) are lowered to nice 5 when they start such work,
/// so when both cores are busy the kernel still runs the loop thread promptly (bench/soak/load
/// measures the lag with both cores saturated). Lowering one's own threads needs no privilege; on Linux the nice value is per thread and inherited by threads created later.
public enum ThreadPriority {
    public static let background: Int32 = 5

    /// Lowers the calling thread to `background` (a no-op when it is already there or lower).
    public static func lowerCurrentThread() {
        #if canImport(Glibc)
        let thread: id_t = 0  // on Linux, PRIO_PROCESS with 0 means the calling thread
        let which = __priority_which_t(PRIO_PROCESS.rawValue)
        errno = 0
        let current = getpriority(which, thread)
        if errno == 0, current < background { _ = setpriority(which, thread, background) }
        #endif
    }
}
