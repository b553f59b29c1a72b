-- IVR menu demo (SPEC 5; built on lua/vcs/ivr.lua). Call it: sip:1002@127.0.0.1:5060
--   welcome, then the menu:  1  hear the time (UTC)
--                            2  leave a message (recorded after the beep, # ends it)
--                            3  hear the number you are calling from, digit by digit
--                            9  hear the options again
-- A key with no option, or no key within 5 s, plays a short apology and the menu again; after
-- three such tries in a row the caller hears a polite goodbye and the call ends.
-- CDR vars: menu_keys (every key pressed at the menu, in order), menu_result ("tries" when the
-- tries ran out, "hangup" when the caller left first), and for a message: message (its path
-- under <data>/recordings/), message_ms, message_reason ("digit", "silence", "max", "hangup",
-- "error").
local ivr = require "vcs.ivr"

local function say_time(call)
  local now = os.date("!*t", math.floor(vcs.now() / 1000))
  call:play("ivr-time-is")
  call:say_number(now.hour)
  call:play("ivr-hours")
  call:say_number(now.min)
  call:play("ivr-minutes-utc")
end

local function leave_message(call)
  call:play("ivr-record")
  local msg = call:record{ max_seconds = 60, silence_seconds = 5, beep = true, terminators = "#" }
  call:set("message", msg.path)
  call:set("message_ms", msg.duration_ms)
  call:set("message_reason", msg.reason)
  -- After a hangup the next waiting method raises: the message is kept, nothing else to do.
  if msg.duration_ms > 0 and msg.reason ~= "error" then
    call:play("ivr-message-saved")
  else
    call:play("ivr-no-message")
  end
end

local function say_caller_number(call)
  -- call.from is a user part: "+86..." or "anonymous" happen; only keys can be read out.
  local digits = (call.from or ""):gsub("[^0-9*#]", ""):sub(1, 32)
  if digits == "" then
    call:play("ivr-number-unknown")
    return
  end
  call:play("ivr-your-number")
  call:say_digits(digits)
end

return function(call)
  local result = nil
  call:on_hangup(function()
    call:set("menu_result", result or "hangup")
  end)
  call:answer()
  call:play("ivr-welcome")
  local _, why = ivr.menu(call, {
    prompt = "ivr-menu",
    tries = 3,
    timeout = 5000,
    invalid = "invalid",
    no_input = "no-input",
    var = "menu_keys",
    options = {
      ["1"] = say_time,
      ["2"] = leave_message,
      ["3"] = say_caller_number,
      ["9"] = ivr.REPEAT,
    },
  })
  result = why
  call:play("goodbye")
end
