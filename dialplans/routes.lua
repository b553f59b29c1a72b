-- Routes for numbers that are not in the number table (SPEC 4): the first entry whose PCRE2
-- pattern matches the called number runs dialplans/<script>.lua; vars reach call.vars.
return {
  { match = "^1000$", script = "hello" },
  { match = "^1001$", script = "echo" },
  { match = "^1002$", script = "ivr_menu" },
  { match = "^1003$", script = "notify",
    vars = { text = "Hello. This is a notification from V C S. Your order has been shipped." } },
  { match = "^1004$", script = "verify_code", vars = { code = "123456" } },
  -- Call forwarding to a SIP target: the README's demo has a second SIPp answer on port 5080.
  { match = "^2000$", script = "forward", vars = { target = "sip:forward@127.0.0.1:5080" } },
  { match = "^9000$", script = "conference", vars = { room = "demo" } },
  { match = "^400\\d{7}$", script = "hello", vars = { lang = "en" } },
}
