-- wrk script for scripts/bench.sh: requests the paths listed in the file PATHS names, with
-- Accept-Encoding: ACCEPT_ENCODING when that is set (tiles: gzip). With ONCE=1 each path is requested once
-- (the threads share the list): a cold pass. A thread that is through its share stops and leaves a file
-- DONE_DIR/done.<n>; wrk itself runs until its -d ends, so the caller interrupts it (SIGINT) once every
-- thread is done. Otherwise each thread cycles through the list from its own offset.
-- Prints one line: RESULT requests seconds req/s p50_ms p99_ms errors.

local paths = {}
for line in io.lines(os.getenv("PATHS")) do
    if #line > 0 then paths[#paths + 1] = line end
end
local once = os.getenv("ONCE") == "1"
local headers = {}
local accept_encoding = os.getenv("ACCEPT_ENCODING") or ""
if #accept_encoding > 0 then headers["Accept-Encoding"] = accept_encoding end

-- Each thread runs in a Lua state of its own: the thread count comes from the environment (THREADS,
-- the same as wrk's -t), the thread's number from setup().
local counter = 0
function setup(thread)
    counter = counter + 1
    thread:set("id", counter)
end

local function finish()
    local marker = io.open(os.getenv("DONE_DIR") .. "/done." .. id, "w")
    if marker then marker:close() end
    wrk.thread:stop()
end

local index, step, served, issued, share
function init(args)
    step = tonumber(os.getenv("THREADS"))
    index = id
    served = 0
    issued = 0
    -- The paths id, id + step, id + 2 step … are this thread's.
    share = math.floor((#paths - id) / step) + 1
end

function request()
    issued = issued + 1
    if once and index > #paths then
        -- Spare connections ask again for the last path while the thread stops; a thread that lost
        -- responses to socket errors stops once it has asked for a few more than its share.
        index = #paths
        if issued > share + 64 then
            finish()
        end
    end
    local path = paths[(index - 1) % #paths + 1]
    index = index + step
    return wrk.format("GET", path, headers)
end

-- Only a one-pass run counts responses: wrk hands every body to response() when the script has one,
-- a copy that would cost the load generator more than the servers for large pages and tiles.
if once then
    function response(status, headers, body)
        served = served + 1
        if served >= share then
            finish()
        end
    end
end

function done(summary, latency, requests)
    local seconds = summary.duration / 1e6
    local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
    io.write(string.format("RESULT %d %.2f %.1f %.2f %.2f %d\n", summary.requests, seconds, summary.requests / seconds,
        latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors))
end
