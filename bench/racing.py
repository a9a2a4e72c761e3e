"""Racing against a fixed number of seeds: how many of a sweep's claims hold on fresh seeds.

Two sweeps of the same digits space, each followed by ``launch.py compare`` of its
whole front on fresh seeds and the test split:

* **fixed**: every configuration over ``--fixed-k`` seeds (``--replicates K``);
* **racing**: ``--replicates MIN:MAX``: every configuration over MIN seeds, more (up to
  MAX) only while its interval still reaches the front; ``--racing-trials`` is chosen so
  that both sweeps train about the same number of pairs (the script prints the counts).

A *claim* is a front configuration with ``beats_baseline = yes``; it *holds* when
compare's paired 95 % interval of ensemble accuracy against the baseline, on fresh seeds
and the test split, lies above 0. The space is single-objective (``ensemble_acc``) with
real differences (batch size and learning rate change how far 2 epochs get), so both
sweeps have something to find. Run from the repository root (about 15 minutes on 2 cores)::

    python -m bench.racing --out /tmp/racing        # prints the table; --json for the numbers

The folders stay under ``--out`` for inspection. Uses only netsep's command line.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from sweep.formatting import text_table

__all__ = ["SPACE", "main", "run_arm"]

REPO = Path(__file__).resolve().parents[1]

# Batch size and learning rate decide how far 2 epochs of digits get: real, unequal gains
# over the baseline (TrialConfig's batch 128 and lr), some large, some within noise.
SPACE: dict[str, Any] = {
    "name": "racing_bench",
    "description": "batch size and learning rate of an independent pair on digits (bench.racing)",
    "dataset": "digits",
    "trials": 8,
    "sampler": "tpe",
    "seed": 0,
    "baseline": True,
    "objectives": [{"metric": "ensemble_acc", "direction": "max"}],
    "fixed": {"objective": "independent", "w_adv": 0.0, "epochs": 2},
    "params": {
        "batch_size": {"type": "categorical", "choices": [64, 96, 128]},
        "lr": {"type": "float", "low": 5.0e-4, "high": 2.0e-3, "log": True},
    },
}


def _launch(*argv: str, cwd: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(REPO / "launch.py"), *argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"launch.py {' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_arm(name: str, replicates: str, trials: int, out: Path, compare_seeds: int) -> dict[str, Any]:
    """One sweep and the compare of its front; the counts the table shows."""
    space_file = out / f"{name}.yaml"
    space_file.write_text(yaml.safe_dump({**SPACE, "name": name, "trials": trials}, sort_keys=False))
    started = time.perf_counter()
    _launch("--space", str(space_file), "--replicates", replicates, "--storage", str(out), "--name", name,
            "--no-dashboard", cwd=out)  # fmt: skip
    folder = out / name
    trained = len(_rows(folder / "trials.csv"))
    front = _rows(folder / "pareto.csv")
    claims = {r["config_id"] for r in front if r["beats_baseline"] == "yes"}
    held: set[str] = set()
    better: set[str] = set()  # front members compare finds better, claimed or not
    compared = 0
    if front:
        _launch("compare", str(folder), "--top", str(len(front)), "--seeds", str(compare_seeds), "--no-dashboard",
                cwd=out)  # fmt: skip
        arms = {r["arm"]: r["source_trial"] for r in _rows(folder / "compare" / "arms.csv")}
        for row in _rows(folder / "compare" / "paired.csv"):
            compared += 1
            if float(row["ci95_low"]) > 0:
                better.add(arms.get(row["arm"], row["arm"]))
        held = better & claims
    return {
        "sweep": name,
        "replicates": replicates,
        "configurations": trials,
        "trained_pairs": trained,
        "front": len(front),
        "claims": sorted(claims),
        "held": sorted(held),
        "better_on_fresh_seeds": sorted(better),
        "compared": compared,
        "minutes": (time.perf_counter() - started) / 60,
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.racing", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="a new folder for the sweeps (must not exist)")
    p.add_argument("--fixed-k", type=int, default=3, help="seeds per configuration of the fixed sweep (default 3)")
    p.add_argument("--fixed-trials", type=int, default=8, help="configurations of the fixed sweep (default 8)")
    p.add_argument("--racing", default="2:5", help="MIN:MAX seeds of the racing sweep (default 2:5)")
    p.add_argument("--racing-trials", type=int, default=9, help="configurations of the racing sweep (default 9)")
    p.add_argument("--compare-seeds", type=int, default=4, help="fresh seeds per arm in compare (default 4)")
    p.add_argument("--json", help="also write the numbers here")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True)  # a new folder: never mixes with an earlier run
    results = [
        run_arm("fixed", str(args.fixed_k), args.fixed_trials, out, args.compare_seeds),
        run_arm("racing", args.racing, args.racing_trials, out, args.compare_seeds),
    ]
    header = ["sweep", "seeds", "configs", "trained pairs", "front", "claims", "held on fresh seeds",
              "front better on fresh seeds", "minutes"]  # fmt: skip
    rows = [
        [r["sweep"], r["replicates"], r["configurations"], r["trained_pairs"], r["front"], len(r["claims"]),
         f"{len(r['held'])} of {len(r['claims'])}", f"{len(r['better_on_fresh_seeds'])} of {r['compared']}",
         f"{r['minutes']:.1f}"]
        for r in results
    ]  # fmt: skip
    print(text_table(header, rows))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
