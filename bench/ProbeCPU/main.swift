// probe-cpu-bench URL COUNT CONCURRENCY [CAFILE]
//
// phasewatch's side of bench/probe_cpu: COUNT probes of URL through the real Prober (fresh
// connection and lookup each, results and assertions built as the agent builds them), at most
// CONCURRENCY in flight. Prints the same line as bench/floor/curl_multi_floor.c.
import Foundation
import PhaseWatchCore
import Probing

struct Bench: Sendable {
    let prober: Prober
    let target: Target
    let concurrency: Int

    /// Runs `n` probes, `concurrency` at a time; returns how many succeeded. As the agent's
    /// scheduler does, the whole loop prefers the curl thread's executor: no thread hand-off per probe.
    func run(_ n: Int) async -> Int {
        await withTaskExecutorPreference(prober.executor) {
            await withTaskGroup(of: Bool.self) { group in
                var started = 0
                var ok = 0
                while started < min(concurrency, n) {
                    group.addTask { await prober.probe(target).success }
                    started += 1
                }
                for await success in group {
                    if success { ok += 1 }
                    if started < n {
                        group.addTask { await prober.probe(target).success }
                        started += 1
                    }
                }
                return ok
            }
        }
    }
}

func cpuMicros() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
}

let args = CommandLine.arguments
guard args.count >= 4, let count = Int(args[2]), let concurrency = Int(args[3]), count > 0, concurrency > 0 else {
    FileHandle.standardError.write(Data("usage: probe-cpu-bench URL COUNT CONCURRENCY [CAFILE]\n".utf8))
    exit(2)
}
var target = Target(name: "bench", url: args[1])
if args.count > 4 { target.tls.caFile = args[4] }
let bench = Bench(prober: Prober(), target: target, concurrency: concurrency)

_ = await bench.run(20)  // warm-up: library init, CA store, first TLS connection
let cpu0 = cpuMicros()
let wall0 = ContinuousClock.now
let ok = await bench.run(count)
let wall = (ContinuousClock.now - wall0).seconds
let cpu = cpuMicros() - cpu0
var usage = rusage()
getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
print(String(format: "probes=%d ok=%d cpu_us_per_probe=%.1f wall_s=%.3f rss_kb=%ld", count, ok, cpu / Double(count), wall, usage.ru_maxrss))
exit(ok == count ? 0 : 1)
