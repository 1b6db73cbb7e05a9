"""The short version of `make bench` runs in `make test`: it must complete and print its table.
(Speed is measured by the benchmark, never asserted here.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def test_bench_runs_and_prints_its_table() -> None:
    result = subprocess.run([sys.executable, "-m", "tests.bench.pipeline"], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PARS_BENCH_SCALE": "0.05"}, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "latency, one web-service record (ms)" in result.stdout
    assert "upload, 125 tab-delimited rows (s)" in result.stdout
    assert "stream, 250 upstream completions (records/s)" in result.stdout
    assert "floor, 250 messages through 4 bare hops (msg/s)" in result.stdout
