-- Voice notification demo (SPEC 5). Call it: sip:1003@127.0.0.1:5060, or originate it with
-- vars.text set to the message. The message is spoken by text to speech (vars.voice "en", the
-- default, or "zh"), followed by "to confirm, press 1; to hear the message again, press 2".
-- Keys work during the message too. A wrong key or no key uses one of three tries.
-- CDR vars: notify_result ("confirmed", "no_response" when the tries ran out, "hangup" when the
-- callee hung up first), notify_plays (how many times the message was spoken), notify_keys.
local ivr = require "vcs.ivr"

return function(call)
  local text = call.vars.text
  if type(text) ~= "string" or text == "" then
    error("notify: vars.text (the message to speak) is missing")
  end
  local voice = call.vars.voice or "en"
  local result, plays = nil, 0
  call:on_hangup(function()
    call:set("notify_result", result or "hangup")
  end)
  call:answer()
  local confirmed = ivr.menu(call, {
    prompt = function(c, keys)
      plays = plays + 1
      c:set("notify_plays", plays)
      return c:say(text, { voice = voice, digits = keys }) or c:play("notify-options", { digits = keys })
    end,
    tries = 3,
    timeout = 5000,
    invalid = "invalid",
    no_input = "no-input",
    var = "notify_keys",
    options = {
      ["1"] = function() return "confirmed" end,
      ["2"] = ivr.REPEAT,
    },
  })
  result = confirmed or "no_response" -- on_hangup writes it to the CDR
  call:play(confirmed and "notify-confirmed" or "notify-no-response")
end
