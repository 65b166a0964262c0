-- wrk script for scripts/load.sh: a mixed load of map reads and registry writes.
--
-- READS names a file of GET paths (tiles, feature pages, the stats summary, houses); HOUSES a file of
-- house ids; TOKEN an officer's API token. Every WRITE_EVERY-th request of a thread records an
-- appraisal (POST /api/v1/farmhouses/{id}/appraisals, a unique report number per request); the others
-- cycle through the read paths from the thread's own offset.
--
-- At the end it prints one line per status class, one for the requests refused by the service's
-- request budget, and one for writes:
--   STATUS 2xx <n> / STATUS 4xx <n> / STATUS 5xx <n> / RATE_LIMITED <n> / WRITES <sent> <created>

local reads, houses = {}, {}
for line in io.lines(os.getenv("READS")) do
    if #line > 0 then reads[#reads + 1] = line end
end
for line in io.lines(os.getenv("HOUSES")) do
    if #line > 0 then houses[#houses + 1] = line end
end
local token = os.getenv("TOKEN")
local write_every = tonumber(os.getenv("WRITE_EVERY") or "10")

local threads, counter = {}, 0
function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
    threads[#threads + 1] = thread
end

local n
function init(args)
    n = id * 7919
    writes, created = 0, 0
    s2, s3, s4, s5, s429 = 0, 0, 0, 0, 0
end

local read_headers = { ["Accept-Encoding"] = "gzip", ["Authorization"] = "Bearer " .. token }
local write_headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }

function request()
    n = n + 1
    if n % write_every == 0 then
        writes = writes + 1
        local house = houses[(n % #houses) + 1]
        local body = string.format(
            '{"report_no":"LOAD-%d-%d","firm":"上虞压力测试评估所","appraiser":"测试","method":"市场比较法",'
                .. '"valuation_date":"2026-01-15","value_yuan":%d,"annual_rent_yuan":%d,"valid_until":"2027-01-15"}',
            id, writes, 100000 + n % 50000, 5000 + n % 3000)
        return wrk.format("POST", "/api/v1/farmhouses/" .. house .. "/appraisals", write_headers, body)
    end
    return wrk.format("GET", reads[(n % #reads) + 1], read_headers)
end

function response(status, headers, body)
    if status < 300 then s2 = s2 + 1
    elseif status < 400 then s3 = s3 + 1
    elseif status < 500 then s4 = s4 + 1
    else s5 = s5 + 1 end
    if status == 429 then s429 = s429 + 1 end
    -- Only a recorded appraisal answers 201 (the reads answer 200).
    if status == 201 then created = created + 1 end
end

function done(summary, latency, requests)
    local total = { s2 = 0, s3 = 0, s4 = 0, s5 = 0, s429 = 0, writes = 0, created = 0 }
    for _, t in ipairs(threads) do
        for k, _ in pairs(total) do total[k] = total[k] + (t:get(k) or 0) end
    end
    local e = summary.errors
    io.write(string.format("STATUS 2xx %d\nSTATUS 3xx %d\nSTATUS 4xx %d\nSTATUS 5xx %d\n",
        total.s2, total.s3, total.s4, total.s5))
    io.write(string.format("RATE_LIMITED %d\n", total.s429))
    io.write(string.format("WRITES %d %d\n", total.writes, total.created))
    io.write(string.format("CLIENT_ERRORS connect %d read %d write %d timeout %d status %d\n",
        e.connect, e.read, e.write, e.timeout, e.status))
    io.write(string.format("LATENCY p50 %.1f p99 %.1f max %.1f ms; REQUESTS %d in %.1f s = %.0f/s\n",
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
        summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6)))
end
