-- IVR load benchmark routes (bench/ivr_bench.py starts vcsd with --dialplans on this folder).
return {
  { match = "^3000$", script = "ivr_load" },  -- TTS welcome, then 5 one-key read_digits rounds
}
