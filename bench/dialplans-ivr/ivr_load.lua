-- IVR load benchmark (bench/ivr_bench.py): a TTS welcome (synthesised once, then served from
-- the TTS cache), then ROUNDS one-key entries. The CDR's vars tell the bench what arrived:
--   keys   one character per round, the key read or "?" when the round timed out
--   early  a key that stopped the welcome (say consumes it, so it is missing from keys)
--   rt     ms after the answer at which each round ended, to tell SIPp timing from vcsd delay
local ROUNDS = 5

return function(call)
  call:answer()
  local t0 = vcs.now()
  local k = call:say("Welcome to the benchmark menu. Press a key.", { digits = "0123456789" })
  if k then call:set("early", k) end
  call:set("say_ms", vcs.now() - t0)
  local rt = {}
  for _ = 1, ROUNDS do
    local d = call:read_digits{ min = 1, max = 1, timeout = 8000, prompt = "ivr_bench_enter" }
    call:set("keys", (call:get("keys") or "") .. (d or "?"))
    rt[#rt + 1] = tostring(vcs.now() - t0)
    call:set("rt", table.concat(rt, ","))
  end
end
