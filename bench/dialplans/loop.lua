-- Long call: answer, then play the 1 s prompt again and again until the caller hangs up
-- (the hangup raises out of call:play and ends the coroutine).
return function(call)
  call:answer()
  while true do
    call:play("bench1s")
  end
end
