-- wrk script of bench/soak/load: GET the paths of WRK_PATHS (space-separated) in turn, with
-- "{name}" replaced by the names of WRK_NAMES (space-separated) in turn; done() prints one
-- "WRKJSON {...}" line with the counts and latency percentiles (microseconds).
local paths, names = {}, {}
for p in string.gmatch(os.getenv("WRK_PATHS") or "/", "%S+") do paths[#paths + 1] = p end
for n in string.gmatch(os.getenv("WRK_NAMES") or "", "%S+") do names[#names + 1] = n end
local i = 0

request = function()
    i = i + 1
    local path = paths[(i - 1) % #paths + 1]
    if #names > 0 then
        local name = names[math.floor((i - 1) / #paths) % #names + 1]
        path = string.gsub(path, "{name}", name)
    end
    return wrk.format("GET", path)
end

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "status_errors": %d, "connect": %d, ' ..
        '"read": %d, "write": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f}\n',
        summary.requests, summary.duration, summary.bytes, e.status, e.connect, e.read, e.write, e.timeout,
        latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
