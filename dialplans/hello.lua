-- Hello world: answer, play the welcome prompt, hang up.
-- Call it: sip:1000@127.0.0.1:5060
return function(call)
  call:on_hangup(function()
    vcs.log("info", "call from", call.from, "ended")
  end)
  call:answer()
  call:play("welcome")
  call:sleep(500)
end
