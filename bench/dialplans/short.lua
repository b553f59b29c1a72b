-- Short call: answer, play a 1 s prompt, hang up (returning ends the call with a BYE).
return function(call)
  call:answer()
  call:play("bench1s")
end
