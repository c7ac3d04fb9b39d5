#if canImport(Glibc)
import Glibc
#endif

/// Open-file limit. Every probe, HTTP client and SQLite connection is a descriptor; at the
/// soft limit (1024 under most shells and services) a burst of idle HTTP clients would make
/// probes fail for want of a socket. The soft limit may be raised to the hard one without
/// privilege, as Go programs and Prometheus do at start (docs/cli.md, "Startup").
public enum FileLimit {
    /// Raises the soft limit to the hard one; returns the limits in force afterwards.
    @discardableResult
    public static func raiseSoftToHard() -> (soft: UInt64, hard: UInt64) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (0, 0) }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }
}
