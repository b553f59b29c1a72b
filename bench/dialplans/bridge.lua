-- Bridged call: the called number is dialled through the carrier gateway (a bare number takes
-- the gateways in priority order); the caller's BYE ends both legs.
return function(call)
  call:dial(call.to, { timeout = 10000 })
end
