#!/usr/bin/env python3
"""1004 (shipped dialplan "verify_code", route var code = "123456"): the code is read digit by
digit (say_digits, one digit at a time with a pause), twice, then "to hear the code again,
press 1". Four calls at once:
  1. no key: intro, code, "once again", code, "press 1", (4 s) goodbye; code_readouts 2;
  2. RFC 4733 1 at "press 1": the code a third time, "press 1" again, (4 s) goodbye;
     code_readouts 3;
  3. SIP INFO 1 at "press 1", then INFO 0 (goodbye at once); code_readouts 3;
  4. in-band 1 then # (the caller offers no telephone-event): as call 3.
vcsd hangs up after goodbye. CDR vars: code_readouts, code_length 6, and the code itself
nowhere in the CDR row. Prompts and the digit words are tones, so the digits can be read back."""

import os
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean (read-only in distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcstest as T  # noqa: E402

PROMPTS = {"code-intro": 400, "code-again": 500, "code-repeat": 600, "code-end": 700}
CODE = "123456"


def call(t, v, method, keys, results):
    peer = t.rtp_peer()
    uac = t.uac(v, "1004", peer.port, pts=(0,) if method == "inband" else (0, 8, 101))
    uac.invite()
    tr = T.ToneTracker(peer, list(PROMPTS.values()) + list(T.EN_WORD_TONES.values()))
    stream = peer.stream(uac.media)
    since = None
    for key in keys:
        r = tr.wait_run(PROMPTS["code-repeat"], since, 30, "'press 1' (%s call, before %s)" % (method, key))
        if method == "info":
            since = uac.info_key(key)
        else:
            since = stream.press(key, method)[0].t_first
    tr.wait_run(PROMPTS["code-end"], since, 15, "goodbye (%s call)" % method)
    uac.wait_bye(10)
    stream.stop()
    results[method] = (tr.sequence(), v.wait_cdr(uac.call_id))


def run(t):
    sounds = T.tone_prompts(PROMPTS)
    sounds.update(T.en_word_prompts())
    v = t.vcsd(sounds=sounds)
    plan = {"none": [], "rfc4733": ["1"], "info": ["1", "0"], "inband": ["1", "#"]}
    results, errors = {}, []

    def guarded(method, keys):
        try:
            call(t, v, method, keys, results)
        except Exception as e:  # reported by the main thread
            errors.append("%s call: %s" % (method, e))
    threads = [threading.Thread(target=guarded, args=(m, k), daemon=True) for m, k in plan.items()]
    for th in threads:
        th.start()
    for th in threads:
        th.join(50)
    T.check(not errors, "\n".join(errors))
    T.check(len(results) == len(plan), "not every call finished: %s" % sorted(results))

    digits = [T.EN_WORD_TONES[n] for n in T.say_digits_names(CODE)]
    intro = [PROMPTS["code-intro"]] + digits + [PROMPTS["code-again"]] + digits
    for method, keys in plan.items():
        seq, row = results[method]
        expected = intro + [PROMPTS["code-repeat"]]
        if keys:
            expected += digits + [PROMPTS["code-repeat"]]
        expected += [PROMPTS["code-end"]]
        T.check(seq == expected, "%s call: expected %s\n  received %s" % (method, expected, seq))
        T.check_cdr(row, script="verify_code", to_number="1004", hangup_cause="normal_clearing",
                    hangup_by="script")
        got = {k: row["vars"].get(k) for k in ("code_readouts", "code_length")}
        T.check_eq(got, {"code_readouts": 3 if keys else 2, "code_length": len(CODE)},
                   "%s call: CDR vars (all: %s)" % (method, row["vars_raw"]))
        T.check(CODE not in str(row["vars_raw"]), "the code leaked into the CDR vars: %s" % row["vars_raw"])


if __name__ == "__main__":
    T.main(run)
