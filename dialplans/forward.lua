-- Call forwarding (SPEC 5.5): the caller is put through to vars.target (a sip: URI, a number
-- through the carrier gateways, or a list of them tried in turn) and hears a ringback tone
-- while it rings. The whole call is recorded (stereo WAV: the caller left, the callee right;
-- path in the CDR's recording column), whatever recording.all_calls says. When nobody
-- answers, the caller hears so and the call ends.
-- CDR vars: forward_status (dial's status: answered, busy, no_answer, rejected, failed),
-- forward_billsec (seconds bridged).
return function(call)
  local target = call.vars.target
  if target == nil or target == "" then
    error("forward: vars.target (where to forward the call) is missing")
  end
  call:record_call{ enabled = true }
  -- The callee sees the caller's number; a caller without one (a softphone's user name) is
  -- presented as the number it dialled.
  local caller_id = call.from:match("^%+?%d+$") and call.from or call.to
  local r = call:dial(target, { ringback = "tone", timeout = 30000, caller_id = caller_id })
  call:set("forward_status", r.status)
  call:set("forward_billsec", r.billsec)
  if r.status ~= "answered" then
    call:answer()
    call:say("Sorry, the person you are calling is not available. Goodbye.")
  end
end
