"""The soak benchmark's short version (``python -m bench.soak --quick``), as CI runs it.

Three Ray nodes in network namespaces (root and iproute2: skipped elsewhere, a failure
under NETSEP_REQUIRE_ALL=1), a real digits sweep of ``QUICK_TRIALS`` search trials, a
worker node killed and started again, the driver SIGKILLed and the sweep resumed. The
benchmark itself exits 1 when a store's count is off; this test reads its JSON too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.lab_network import missing_requirements
from bench.soak import QUICK_TRIALS
from tests.helpers import require, run_module

pytestmark = [pytest.mark.netns, pytest.mark.slow]


def test_quick_soak_ends_with_every_configuration_once_in_every_store(tmp_path: Path) -> None:
    reason = missing_requirements()
    require(reason is None, f"the soak benchmark needs network namespaces: {reason}")
    out = tmp_path / "soak.json"
    # --max-failures 4: a node lost while its trial's reused actor is being reset costs that
    # trial two of Tune's retries at once (bench/SOAK.md); the default 2 would then fail it.
    stdout = run_module(
        "bench.soak", "--quick", "--storage", str(tmp_path), "--max-failures", "4", "--json", str(out), timeout=540
    )
    assert "(PASS)" in stdout, stdout[-3000:]
    saved = json.loads(out.read_text())
    counts = saved["counts"]
    assert counts["problems"] == [], counts
    assert (counts["csv_complete_search"], counts["csv_complete_baseline"]) == (QUICK_TRIALS, 1)
    assert counts["journal_complete"] == counts["journal_trials"] == QUICK_TRIALS
    assert counts["db_complete"] == QUICK_TRIALS
    # Every fault happened, in order, and the resumed driver finished the sweep.
    events = saved["events"]
    order = ["kill_node", "node_back", "kill_driver", "resume_started", "resume_journal", "resume_rebuilt"]
    order += ["resume_first_trial", "driver_1_exit"]
    assert [e for e in order if e in events] == order, events
    assert [events[e] for e in order] == sorted(events[e] for e in order), events
    assert saved["exit_codes"] == [-9, 0]
    assert saved["report_s"] > 0 and saved["journal_bytes"] > 0 and saved["peak_driver_mib"] > 0
    assert (tmp_path / "soak" / "summary.md").is_file()  # --storage keeps the results folder


def test_the_driver_cost_is_taken_within_one_driver_and_leaves_its_start_up_out() -> None:
    from bench.soak_measure import DriverSample, cost_at

    def sample(t: float, driver: int, done: int, cpu: float) -> DriverSample:
        return DriverSample(t, driver, done, cpu, 100.0, 120.0)

    samples = [
        sample(0, 0, 0, 5.0),  # start-up: 5 CPU s before the first trial
        sample(1, 0, 1, 5.5),
        sample(5, 0, 11, 6.0),
        sample(9, 0, 21, 7.0),
        sample(10, 1, 15, 9.0),  # the resumed driver: its own CPU clock, from its restored count
        sample(14, 1, 25, 9.5),
        sample(18, 1, 35, 10.5),
    ]
    first = cost_at(samples, 11, window=10)
    assert first is not None and (first["from"], first["to"], first["driver"]) == (1, 11, 0)
    assert first["cpu_s_per_trial"] == pytest.approx(0.05) and first["wall_s_per_trial"] == pytest.approx(0.4)
    last = cost_at(samples, 35, window=10)
    assert last is not None and (last["from"], last["to"], last["driver"]) == (25, 35, 1)
    assert last["cpu_s_per_trial"] == pytest.approx(0.1)
    assert cost_at(samples, 50, window=10) is None  # never got there
