-- Paces wrk to a fixed request rate instead of sending back-to-back: the latency of a server at a
-- given load, not the queue of a saturated closed loop (where p99 ~ connections / throughput).
-- Appended to a request script (or used alone); reads KATE_WRK_RATE (requests/s over all
-- connections) and KATE_WRK_THREADS (wrk's -t). Each wrk thread sends on its own schedule of
-- rate / threads per second through wrk's delay() hook, timed with LuaJIT's ffi clock_gettime. A
-- slot missed because every connection is busy is sent as soon as one frees up, so an overloaded
-- server still shows as a lower rate. wrk's delay() has millisecond resolution: a request may go
-- out up to 1 ms before its slot, never later because of the pacing.
local rate = tonumber(os.getenv("KATE_WRK_RATE") or "")
local threads = tonumber(os.getenv("KATE_WRK_THREADS") or "1")
if rate and rate > 0 then
    local ffi = require("ffi")
    ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } kate_timespec; int clock_gettime(int, kate_timespec *); ]]
    local now_ts = ffi.new("kate_timespec")
    local function now_ms()
        ffi.C.clock_gettime(1, now_ts) -- CLOCK_MONOTONIC
        return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
    end
    local period, next_slot = threads * 1000 / rate, nil
    function delay()
        local now = now_ms()
        next_slot = next_slot or now
        local slot = next_slot
        next_slot = next_slot + period
        return math.max(0, slot - now)
    end
end
