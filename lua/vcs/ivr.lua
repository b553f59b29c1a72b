-- vcs.ivr: menus for dialplans, so that a scenario author writes what each key does and not
-- the loop around it (prompt, wait for a key, invalid and timeout handling, retries).
--
--   local ivr = require "vcs.ivr"
--   local result, key = ivr.menu(call, {
--     prompt = "menu", tries = 3, timeout = 5000, invalid = "invalid", no_input = "no-input",
--     var = "menu_keys",
--     options = {
--       ["1"] = function(call) call:say_number(42) end,  -- then the menu plays again
--       ["2"] = "opening-hours",                          -- a prompt, then the menu again
--       ["8"] = function(call) return "agent" end,        -- a value ends the menu: returned
--       ["9"] = ivr.REPEAT,                               -- the menu again, at once
--     },
--   })
--
-- Promises:
-- - The prompt is interruptible by any key; a key pressed earlier (type-ahead) is taken at once.
--   Without a key during the prompt, the menu waits `timeout` ms for one.
-- - A key with no option, or no key at all, uses one try and plays `invalid` (or `no_input`);
--   once `tries` tries in a row are used up, ivr.menu returns nil, "tries". A valid choice gives
--   the caller `tries` tries again.
-- - An option's function runs with (call, key). If it returns nothing the menu plays again;
--   any other value ends the menu, and ivr.menu returns it and the key.
-- - A hangup is never caught here: it ends the script as with any waiting method.
-- Everything else (bad options) is an error naming the option, raised before anything plays.
-- The module keeps no state between calls: one copy serves every call of a worker.

local ivr = {}

-- The option value that replays the menu prompt (it counts as a valid choice).
ivr.REPEAT = setmetatable({}, { __tostring = function() return "ivr.REPEAT" end, __metatable = false })

local KEYS = "0123456789*#ABCD"

local function is_prompt(v)
  if type(v) == "string" then return v ~= "" end
  if type(v) ~= "table" or v == ivr.REPEAT or #v == 0 then return false end
  for _, p in ipairs(v) do
    if type(p) ~= "string" or p == "" then return false end
  end
  return true
end

-- Raised without a position: ivr.menu re-raises it at the line of the dialplan that called it.
local function check(cond, msg)
  if not cond then error({ ivr_spec_error = "ivr.menu(): " .. msg }, 0) end
end

local function positive(spec, k, default)
  local v = spec[k]
  if v == nil then return default end
  check(math.type(v) == "integer" and v > 0, k .. " must be a positive integer (got " .. tostring(v) .. ")")
  return v
end

local KNOWN = { prompt = true, options = true, tries = true, timeout = true, invalid = true,
                no_input = true, var = true }

-- Validates spec and returns the normalised copy the loop uses.
local function normalise(call, spec)
  check(type(call) == "userdata" or type(call) == "table", "the first argument must be the call")
  check(type(spec) == "table", "the second argument must be a table")
  for k in pairs(spec) do
    check(KNOWN[k], "unknown field '" .. tostring(k) .. "'")
  end
  local m = {
    prompt = spec.prompt,
    tries = positive(spec, "tries", 3),
    timeout = positive(spec, "timeout", 5000),
    invalid = spec.invalid,
    no_input = spec.no_input,
    var = spec.var,
    options = {},
  }
  check(is_prompt(m.prompt) or type(m.prompt) == "function",
        "prompt must be a prompt name, a list of names, or a function(call, keys)")
  check(m.invalid == nil or is_prompt(m.invalid), "invalid must be a prompt name or a list of names")
  check(m.no_input == nil or is_prompt(m.no_input), "no_input must be a prompt name or a list of names")
  if m.no_input == nil then m.no_input = m.invalid end
  check(m.var == nil or (type(m.var) == "string" and m.var ~= ""), "var must be a variable name")
  check(type(spec.options) == "table", "options must be a table of key = action")
  local n = 0
  for key, action in pairs(spec.options) do
    check(type(key) == "string" and #key == 1 and KEYS:find(key:upper(), 1, true),
          "option key " .. tostring(key) .. " is not a key (0-9 * # A-D)")
    check(type(action) == "function" or action == ivr.REPEAT or is_prompt(action),
          "options['" .. key .. "'] must be a function, a prompt or ivr.REPEAT")
    m.options[key:upper()] = action
    n = n + 1
  end
  check(n > 0, "options is empty")
  return m
end

-- Plays the menu prompt; the key that interrupted it (or was typed ahead), else nil.
local function play_prompt(call, m)
  if type(m.prompt) == "function" then
    local key = m.prompt(call, KEYS)
    if key ~= nil and not (type(key) == "string" and #key == 1) then
      error("ivr.menu(): the prompt function returned " .. tostring(key) .. ", not a key or nil", 0)
    end
    return key
  end
  return call:play(m.prompt, { digits = KEYS })
end

function ivr.menu(call, spec)
  local ok, m = pcall(normalise, call, spec)
  if not ok then
    if type(m) == "table" and m.ivr_spec_error then error(m.ivr_spec_error, 2) end
    error(m, 0) -- not ours (out of memory, instruction limit): unchanged
  end
  local failures = 0
  while true do
    local key = play_prompt(call, m)
    if key == nil then key = call:get_digit(m.timeout) end
    if key ~= nil and m.var then
      call:set(m.var, (call:get(m.var) or "") .. key)
    end
    local action = key and m.options[key]
    if action == nil then
      failures = failures + 1
      local sorry = key and m.invalid or m.no_input
      if sorry then call:play(sorry) end
      if failures >= m.tries then return nil, "tries" end
    else
      failures = 0
      if type(action) == "function" then
        local result = action(call, key)
        if result ~= nil then return result, key end
      elseif action ~= ivr.REPEAT then
        call:play(action)
      end
    end
  end
end

return ivr
