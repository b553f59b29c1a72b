-- A conference room (SPEC 5.5): every caller to the number meets the others in room
-- vars.room of their account; each hears everyone but themselves, a beep marks each join and
-- leave. The first caller is told the room is empty.
return function(call)
  local room = call.vars.room or "demo"
  call:answer()
  if #vcs.conference_members(room) == 0 then
    call:say("You are the first in the conference.")
  end
  call:set("conference_left", call:conference(room, { beep = true }))
end
