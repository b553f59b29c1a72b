-- Conference member: 4RRRMMMM puts the callers in rooms of MMMM members, filled in turn by the
-- caller's number (the bench's SIPp numbers its callers 1, 2, 3...): callers 1..MMMM in room 0,
-- the next MMMM in room 1, and so on (RRR, the number of rooms, only names the layout). Filling
-- rooms in turn spreads each room's members over the workers, as real callers would be.
-- Joins without beeps; the caller's BYE ends the membership.
return function(call)
  local members = math.max(1, tonumber(call.to:sub(5)))
  local n = math.max(1, tonumber(call.from) or 1)
  call:conference("bench" .. ((n - 1) // members), { beep = false })
end
