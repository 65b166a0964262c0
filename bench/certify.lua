-- wrk script for scripts/measure-scale.sh: certifies (鉴证) the transactions listed in the file IDS names,
-- each once, as the officer whose API token is TOKEN. Thread n of THREADS (wrk's -t) takes the ids n,
-- n + THREADS, n + 2 THREADS …; a thread through its share asks for /health instead, which the caller
-- does not count (it counts certificates in the database).
-- Prints one line: RESULT requests seconds req/s p50_ms p99_ms non-2xx.

local ids = {}
for line in io.lines(os.getenv("IDS")) do
    if #line > 0 then ids[#ids + 1] = line end
end
local auth = "Bearer " .. os.getenv("TOKEN")

local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end

local index, step
function init(args)
    step = tonumber(os.getenv("THREADS"))
    index = id
end

function request()
    if index > #ids then
        return wrk.format("GET", "/health")
    end
    local path = "/api/v1/transactions/" .. ids[index] .. "/certify"
    index = index + step
    return wrk.format("POST", path, { ["Authorization"] = auth, ["Content-Type"] = "application/json" }, "{}")
end

function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    io.write(string.format("RESULT %d %.2f %.1f %.2f %.2f %d\n", summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.errors.status))
end
