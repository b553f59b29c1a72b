#!/usr/bin/env python3
"""The entry point of bench/run.sh: vcs_bench's scenarios and those of every module on top of
it (bridging, campaigns, the API under calls), in one command line (bench/run.sh --help)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vcs_bench as vb  # noqa: E402
import api_calls_bench  # noqa: E402
import bridge_bench  # noqa: E402
import campaign_bench  # noqa: E402

if __name__ == "__main__":
    vb.main(bridge_bench, campaign_bench, api_calls_bench)
