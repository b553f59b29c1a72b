-- Call methods written in Lua on top of the waiting primitives in call_lua.c
-- (call:play(prompts, {digits=}) returns the key that interrupted it; call:get_digit(ms)).
-- Compiled into vcsd (see Makefile.am) and run once per worker with (methods, re_match); it
-- returns the campaign AMD gate (see the end).
local methods, re_match = ...

local ANY_KEY = "0123456789*#ABCD"

local function check(cond, msg)
  if not cond then error("call:read_digits(): " .. msg, 3) end
end

local function positive(o, k)
  check(math.type(o[k]) == "integer" and o[k] > 0, k .. " must be a positive integer (got " .. tostring(o[k]) .. ")")
end

-- One entry: keys until a terminator, max keys, or a timeout (first key: timeout, then
-- digit_timeout). first is a key already pressed during the prompt.
local function entry(call, o, first)
  local digits, key, wait = "", first, o.timeout
  while true do
    if key == nil then key = call:get_digit(wait) end
    if key == nil then return digits, "timeout" end
    if o.terminators:find(key, 1, true) then return digits, "terminator" end
    digits = digits .. key
    if #digits >= o.max then return digits, "max" end
    key, wait = nil, o.digit_timeout
  end
end

-- call:read_digits{min=, max=, timeout=, digit_timeout=, terminators=, prompt=,
--                  invalid_prompt=, tries=, valid=}  (SPEC 5.1)
function methods.read_digits(call, opts)
  local o = { min = 1, max = 128, timeout = 5000, digit_timeout = 3000, terminators = "#", tries = 1 }
  local known = { prompt = true, invalid_prompt = true, valid = true }
  check(opts == nil or type(opts) == "table", "options must be a table")
  for k, v in pairs(opts or {}) do
    check(o[k] ~= nil or known[k], "unknown option '" .. tostring(k) .. "'")
    o[k] = v
  end
  for _, k in ipairs({ "min", "max", "timeout", "digit_timeout", "tries" }) do positive(o, k) end
  check(o.min <= o.max, "min is larger than max")
  check(type(o.terminators) == "string", "terminators must be a string")
  check(o.valid == nil or type(o.valid) == "string", "valid must be a PCRE2 pattern string")
  if o.valid then -- a bad pattern fails here, before any prompt, at the caller's line
    local ok, err = pcall(re_match, o.valid, "")
    check(ok, tostring(err))
  end
  for _ = 1, o.tries do
    local first = nil
    if o.prompt then first = call:play(o.prompt, { digits = ANY_KEY }) end
    local digits, why = entry(call, o, first)
    local empty_timeout = why == "timeout" and digits == ""
    if not empty_timeout and #digits >= o.min and (o.valid == nil or re_match(o.valid, digits)) then
      return digits
    end
    if o.invalid_prompt then call:play(o.invalid_prompt) end
  end
  return nil
end

-- call:record{path=, max_seconds=60, silence_seconds=5, beep=true, terminators="#"} (SPEC 5.1)
-- -> {path=, duration_ms=, reason="silence"|"digit"|"max"|"hangup"}
function methods.record(call, opts)
  if opts ~= nil and type(opts) ~= "table" then error("call:record(): options must be a table", 2) end
  opts = opts or {}
  if opts.beep ~= false then call:tone("beep") end
  return call:_record(opts)
end

-- The campaign option amd (SPEC 9) on a campaign leg: the engine runs gate(handler, mode)(call)
-- in place of the handler. It detects on answer with call:detect_machine's defaults, records the
-- verdict in the CDR var amd (the dialer reads "machine" from it); "hangup" ends a machine's
-- call before the script runs, otherwise the script runs with call.vars.amd = the verdict.
return function(handler, mode)
  return function(call, ...)
    local verdict = call:detect_machine()
    call:set("amd", verdict)
    if verdict == "machine" and mode == "hangup" then return call:hangup() end
    call.vars.amd = verdict
    return handler(call, ...)
  end
end
