-- Benchmark routes (bench/run.sh copies this folder into each run's own vcsd).
return {
  { match = "^2000$", script = "short" },       -- answer, 1 s prompt, hang up
  { match = "^2001$", script = "loop" },        -- answer, prompt in a loop until the caller hangs up
  { match = "^1\\d{10}$", script = "bridge" },  -- dial the number through the carrier gateway
  { match = "^4\\d{7}$", script = "conference" },  -- 4RRRMMMM: RRR rooms of MMMM members
}
