"""What a trial worker imports before its first training step, and how long each part takes.

Run from the repository root::

    python -m bench.imports                   # 5 fresh interpreters, medians
    python -m bench.imports --json out.json   # also save every number
    python -m bench.imports --quick           # 1 interpreter: a smoke run

A Ray worker that Tune turns into a trial actor does these steps once, in this
order, before the first batch: the worker itself imports ``ray``; unpickling Tune's
actor class imports ``ray.tune``; unpickling the trainable imports
``trainable.tune_function`` (``torch`` first, then netsep's own modules); the first
trial builds its data, nets and optimizers (``PairTraining``: a digits trial, its
cached dataset memory-mapped). On the fast path (the default) the optimizers are
``trainable.optim``'s, which leave ``torch._dynamo`` unimported; the last row is what
``eager=true`` pays on top, for comparison: torch.optim's first optimizer imports
``torch._dynamo`` (torch wraps ``add_param_group`` in a lazily imported dynamo guard).
It is not in the total. Each step runs in a fresh ``python`` (one per run, so nothing
is cached in memory but the OS's file cache), timed with ``time.perf_counter`` around
it; the table gives each step's median and the total. A slot of a sweep pays all of it
once, on its own CPU, when its first trial starts (bench/SWEEP.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.machine import format_table, load_average, machine_info

__all__ = ["EAGER_ONLY", "STEPS", "main", "time_steps"]

# (name, Python statement), run in order in one interpreter; the last is eager=true's extra.
STEPS: tuple[tuple[str, str], ...] = (
    ("ray (the worker itself)", "import ray"),
    ("ray.tune (Tune's actor class)", "import ray.tune"),
    ("torch", "import torch"),
    ("trainable.tune_function (netsep, after torch)", "import trainable.tune_function"),
    (
        "the first trial: data, nets, optimizers (PairTraining, digits)",
        "from trainable.config import TrialConfig\n"
        "from trainable.loop import PairTraining\n"
        "PairTraining(TrialConfig.from_dict({'dataset': 'digits', 'device': 'cpu'}))\n"
        "assert 'torch._dynamo' not in sys.modules, 'the fast path imported torch._dynamo'",
    ),
    (
        "eager=true only: torch._dynamo (torch.optim's first optimizer)",
        "torch.optim.AdamW([torch.zeros(1, requires_grad=True)])\n"
        "assert 'torch._dynamo' in sys.modules, 'torch.optim no longer imports torch._dynamo'",
    ),
)
# Rows that are not part of a fast-path trial worker's start-up (left out of the total).
EAGER_ONLY = frozenset({STEPS[-1][0]})

_CHILD = """
import json, sys, time
steps = json.loads(sys.argv[1])
out = []
for name, statement in steps:
    start = time.perf_counter()
    exec(statement, globals())
    out.append(time.perf_counter() - start)
print(json.dumps(out))
"""


def time_steps(steps: Sequence[tuple[str, str]] = STEPS) -> list[float]:
    """Seconds of each step in one fresh interpreter started in this folder."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(list(steps))],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return [float(x) for x in json.loads(done.stdout.strip().splitlines()[-1])]


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="one interpreter: a smoke run")
    p.add_argument("--runs", type=int, default=5, help="fresh interpreters (default 5)")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    args = p.parse_args(argv)
    runs = 1 if args.quick else args.runs
    if runs < 1:
        raise SystemExit(f"--runs must be >= 1, got {runs}")
    load_before = load_average()
    times = [time_steps() for _ in range(runs)]
    medians = [statistics.median(run[i] for run in times) for i in range(len(STEPS))]
    counted = [i for i, (name, _) in enumerate(STEPS) if name not in EAGER_ONLY]
    totals = [sum(run[i] for i in counted) for run in times]
    rows = [
        (name, f"{m:.2f}", " ".join(f"{run[i]:.2f}" for run in times))
        for i, ((name, _), m) in enumerate(zip(STEPS, medians))
    ]
    rows.append(("total (fast path)", f"{statistics.median(totals):.2f}", " ".join(f"{t:.2f}" for t in totals)))
    print(f"What a trial worker imports before its first step (median of {runs} fresh interpreters, seconds):")
    print(format_table(("step", "median s", "per run"), rows))
    print(f"\nload average: {load_before:.2f} before, {load_average():.2f} after")
    if args.json:
        saved: dict[str, Any] = {
            "benchmark": "imports",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.imports", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "steps": [{"step": name, "statement": stmt, "median_s": m} for (name, stmt), m in zip(STEPS, medians)],
            "runs_s": times,
            "median_total_s": statistics.median(totals),
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
