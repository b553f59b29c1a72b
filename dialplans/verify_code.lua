-- Verification code call demo (SPEC 5). Call it: sip:1004@127.0.0.1:5060, or originate it
-- with vars.code set (1 to 16 digits). The code is read digit by digit, with a short pause
-- after each digit, twice; then "to hear the code again, press 1" (up to three more times).
-- The code itself never reaches the CDR or the log.
-- CDR vars: code_readouts (how many times the code was read out), code_length.
return function(call)
  local code = tostring(call.vars.code or "")
  if not code:match("^%d+$") or #code > 16 then
    error("verify_code: vars.code must be 1 to 16 digits")
  end
  local readouts = 0
  call:on_hangup(function()
    call:set("code_readouts", readouts)
  end)
  call:set("code_length", #code)
  call:answer()
  call:sleep(300) -- some phones open their audio path a moment after the answer

  local function read_code()
    for digit in code:gmatch("%d") do
      call:say_digits(digit)
      call:sleep(250)
    end
    readouts = readouts + 1
  end

  call:play("code-intro")
  read_code()
  call:play("code-again")
  read_code()
  for _ = 1, 3 do
    local key = call:play("code-repeat", { digits = "0123456789*#" }) or call:get_digit(4000)
    if key ~= "1" then break end
    read_code()
  end
  call:play("code-end")
end
