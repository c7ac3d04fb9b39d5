import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The `process_*` series every Prometheus exporter has, named and typed as client_golang's
/// process collector writes them, read from /proc at each scrape (docs/metrics.md).
enum ProcessMetrics {
    struct Sample: Equatable {
        var cpuSeconds: Double
        var residentBytes: Double
        var virtualBytes: Double
        var startTimeSeconds: Double
        var openFDs: Double
        var maxFDs: Double
    }

    /// The fields of /proc/self/stat it needs: utime and stime (14, 15), starttime (22), vsize
    /// (23) and rss (24). The command (field 2) may hold spaces and parentheses: fields are
    /// counted from the last ")".
    static func parseStat(_ text: String, ticksPerSecond: Double, pageSize: Double, bootTime: Double) -> Sample? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state).
        func field(_ n: Int) -> Double? { fields.count > n - 3 ? Double(fields[n - 3]) : nil }
        guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23), let rss = field(24) else {
            return nil
        }
        return Sample(
            cpuSeconds: (utime + stime) / ticksPerSecond, residentBytes: rss * pageSize, virtualBytes: vsize,
            startTimeSeconds: bootTime + start / ticksPerSecond, openFDs: 0, maxFDs: 0)
    }

    /// `btime` of /proc/stat: the boot time, Unix seconds.
    static func parseBootTime(_ text: String) -> Double? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }

    static func sample() -> Sample? {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let procStat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8), let boot = parseBootTime(procStat),
            var sample = parseStat(
                stat, ticksPerSecond: Double(sysconf(Int32(_SC_CLK_TCK))), pageSize: Double(sysconf(Int32(_SC_PAGESIZE))), bootTime: boot)
        else { return nil }
        sample.openFDs = Double((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0)
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 { sample.maxFDs = Double(limit.rlim_cur) }
        return sample
    }

    /// One sample's families: name, type, help, value (none where /proc cannot be read).
    static func families(_ sample: Sample?) -> [(name: String, type: String, help: String, value: Double)] {
        guard let s = sample else { return [] }
        return [
            ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", s.cpuSeconds),
            ("process_max_fds", "gauge", "Maximum number of open file descriptors.", s.maxFDs),
            ("process_open_fds", "gauge", "Number of open file descriptors.", s.openFDs),
            ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", s.residentBytes),
            ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", s.startTimeSeconds),
            ("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", s.virtualBytes),
        ]
    }

    /// Writes one sample's families as text.
    static func write(_ sample: Sample?, into out: inout ExpositionWriter) {
        for (name, type, help, value) in families(sample) {
            out.family(name, type: type, help: help)
            out.sample(ExpositionWriter.bare(name), value: value)
        }
    }
}
