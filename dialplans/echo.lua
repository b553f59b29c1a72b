-- Echo test: after a short prompt, the caller hears themselves until they hang up
-- (or for ten minutes). Useful to check audio path and latency.
-- Call it: sip:1001@127.0.0.1:5060
return function(call)
  call:answer()
  call:play("echo-intro")
  call:echo(10 * 60 * 1000)
end
