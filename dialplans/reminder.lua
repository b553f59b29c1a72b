-- Appointment reminder for outbound campaigns (SPEC 9). Each callee's CSV columns arrive in
-- call.vars: name, when (e.g. "Monday at 10 AM") and, from the campaign's vars, clinic. The
-- reminder is spoken by text to speech, then "to confirm, press 1; to hear the message again,
-- press 2" (notify-options); keys work during the message too; three tries.
-- On a campaign's call with amd on the engine has detected the machine before this runs
-- (call.vars.amd; with "hangup" a machine never gets here). Placed otherwise with
-- call.vars.campaign_amd "hangup" or "continue", the script runs call:detect_machine itself
-- first: "hangup" ends the call on an answering machine.
-- CDR vars (the campaign's results): reminder ("confirmed", "no_response", "machine",
-- "hangup" when the callee hung up first), reminder_plays, reminder_keys, amd.
local ivr = require "vcs.ivr"

return function(call)
  local v = call.vars
  local text = string.format("Hello %s. This is a reminder of your appointment%s%s.",
    v.name or "", v.clinic and (" at " .. v.clinic) or "", v.when and (", " .. v.when) or "")
  local result, plays = nil, 0
  call:on_hangup(function()
    call:set("reminder", result or "hangup")
  end)
  call:answer()
  if v.amd == nil and (v.campaign_amd == "hangup" or v.campaign_amd == "continue") then
    local amd = call:detect_machine{}
    call:set("amd", amd)
    if amd == "machine" and v.campaign_amd == "hangup" then
      result = "machine"
      return
    end
  end
  local confirmed = ivr.menu(call, {
    prompt = function(c, keys)
      plays = plays + 1
      c:set("reminder_plays", plays)
      return c:say(text, { digits = keys }) or c:play("notify-options", { digits = keys })
    end,
    tries = 3,
    timeout = 5000,
    invalid = "invalid",
    no_input = "no-input",
    var = "reminder_keys",
    options = {
      ["1"] = function() return "confirmed" end,
      ["2"] = ivr.REPEAT,
    },
  })
  result = confirmed or "no_response"
  call:play(confirmed and "notify-confirmed" or "notify-no-response")
end
