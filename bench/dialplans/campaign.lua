-- Campaign benchmark script (bench/campaign_bench.py): the callee hears a reminder spoken by
-- text to speech (with the callee's name from the CSV: a few distinct texts, so the TTS cache
-- is exercised, not every call synthesised), then the call is kept up until hold_ms (a
-- campaign var, default 10 s) after the script started; returning hangs up (vcsd's BYE).
return function(call)
  local t0 = vcs.now()
  call:say(string.format("Hello %s. This is a reminder of your appointment tomorrow at ten.",
                         call.vars.name or ""))
  local left = (tonumber(call.vars.hold_ms) or 10000) - (vcs.now() - t0)
  if left > 0 then
    call:sleep(left)
  end
end
