"""Evaluation's share of a trial's time : how much of a trial goes to evaluating.

Run from the repository root::

    python -m bench.eval_share                   # 5 epochs of Fashion-MNIST (about 5 minutes on 2 cores)
    python -m bench.eval_share --json out.json   # also save every number
    python -m bench.eval_share --quick           # a tiny digits run: its numbers mean nothing

One trial is built by ``trainable.loop.PairTraining`` exactly as a sweep trial is
(``--set KEY=VALUE`` changes its settings; the default is simple3 at width 0.25, the
``dice`` objective with its discriminator, the whole training split less the
default validation split, batch 128, 5 epochs). After every epoch's
``train_epoch()`` it times both evaluations a trial could run:

- ``evaluate("validation")``: what a sweep trial runs now (validation split, every
  ``eval_every`` epochs, the last epoch always);
- ``evaluate("test")``: what a trial ran before the protocol change (the 10,000-image
  test split, every epoch).

The shares are evaluation time / (training time + evaluation time) over the trial,
for three schedules: test every epoch (before), validation every epoch
(``eval_every`` 1, the default) and validation only after the last epoch
(``eval_every`` = epochs). Target: <= 10 % with the default. The per-epoch shares
are listed too (their median is printed beside the total).

Each evaluation computes the per-example outputs once (one forward pass of both
nets over the split, ``trainable.evaluate.collect_outputs``) and every metric from
them (``evaluate_pair``); the script times the two parts apart afterwards (median of
3) to show where an evaluation's time goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from bench.accuracy import parse_setting
from bench.machine import format_table, load_average, machine_info
from trainable.config import TrialConfig
from trainable.evaluate import collect_outputs, evaluate_pair
from trainable.loop import PairTraining

__all__ = ["BASE", "QUICK", "SHARE_TARGET", "main", "measure", "shares"]

SHARE_TARGET = 0.10  # evaluation <= 10 % of a trial's time with the default schedule (the project's target)
BASE: dict[str, Any] = {
    "dataset": "fashion-mnist",
    "classifier": "simple3",
    "width": 0.25,
    "objective": "dice",
    "w_adv": 0.1,
    "epochs": 5,
    "seed": 0,
}
QUICK: dict[str, Any] = {"dataset": "digits", "width": 0.25, "objective": "dice", "epochs": 2, "train_size": 400}


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure(config: TrialConfig) -> dict[str, Any]:
    """Train ``config`` to the end, timing each epoch's training and both evaluations."""
    training = PairTraining(config, torch.device("cpu"))
    epochs: list[dict[str, float]] = []
    while not training.finished:
        train_s, _ = _timed(training.train_epoch)
        val_s, _ = _timed(lambda: training.evaluate("validation"))
        test_s, _ = _timed(lambda: training.evaluate("test"))
        epochs.append({"epoch": training.epoch, "train_s": train_s, "validation_s": val_s, "test_s": test_s})
        print(
            f"epoch {training.epoch}: train {train_s:.2f} s, validation evaluation {val_s:.2f} s, "
            f"test evaluation {test_s:.2f} s",
            flush=True,
        )
    parts: dict[str, list[float]] = {"forward (collect_outputs)": [], "metrics (evaluate_pair)": []}
    for _ in range(3):
        batches = training.data.eval_batches("validation", config.eval_batch_size)
        forward_s, outputs = _timed(
            lambda b=batches: collect_outputs(training.net_1, training.net_2, b, config.cka_examples)
        )
        metrics_s, _ = _timed(lambda o=outputs: evaluate_pair(o, training.disc, config.objective, config.seed))
        parts["forward (collect_outputs)"].append(forward_s)
        parts["metrics (evaluate_pair)"].append(metrics_s)
    sizes = {
        "train": training.data.num_train,
        "validation": int(outputs.labels.shape[0]),  # the last timed evaluation's outputs
        "test": training.data.num_test,
    }
    return {"epochs": epochs, "validation_parts_s": parts, "split_sizes": sizes}


def shares(epochs: Sequence[dict[str, float]]) -> list[dict[str, Any]]:
    """Evaluation / (training + evaluation) for each schedule, over the trial and per epoch."""
    last = len(epochs) - 1
    schedules = {
        "test every epoch (before)": lambda i, e: e["test_s"],
        "validation every epoch (eval_every 1, the default)": lambda i, e: e["validation_s"],
        "validation after the last epoch only": lambda i, e: e["validation_s"] if i == last else 0.0,
    }
    rows = []
    train_total = sum(e["train_s"] for e in epochs)
    for name, cost in schedules.items():
        evals = [cost(i, e) for i, e in enumerate(epochs)]
        per_epoch = [c / (e["train_s"] + c) for c, e in zip(evals, epochs)]
        share = sum(evals) / (train_total + sum(evals))
        is_default = "default" in name
        rows.append(
            {
                "schedule": name,
                "eval_s": sum(evals),
                "train_s": train_total,
                "share": share,
                "median_epoch_share": statistics.median(per_epoch),
                "target": SHARE_TARGET if is_default else None,
                "passed": share <= SHARE_TARGET if is_default else None,
            }
        )
    return rows


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.eval_share", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a tiny digits run (2 epochs, 400 images): a smoke test")
    p.add_argument(
        "--set", action="append", type=parse_setting, default=[], metavar="KEY=VALUE", help="change a trial setting"
    )
    p.add_argument("--threads", type=int, help="torch threads (default: every CPU the process may use)")
    p.add_argument("--json", metavar="PATH", help="also write every number here")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = dict(QUICK if args.quick else BASE)
    settings.update(dict(args.set))
    config = TrialConfig.from_dict(settings)
    load_before = load_average()
    print(f"torch threads: {torch.get_num_threads()}; trial: {json.dumps(settings, sort_keys=True)}", flush=True)
    measured = measure(config)
    rows = shares(measured["epochs"])
    sizes = measured["split_sizes"]
    print(
        f"\nEvaluation's share of one trial ({len(measured['epochs'])} epochs; {sizes['train']} training, "
        f"{sizes['validation']} validation, {sizes['test']} test images):"
    )
    print(
        format_table(
            ("schedule", "evaluation s", "training s", "share", "median epoch share", "target", "result"),
            [
                (
                    r["schedule"],
                    f"{r['eval_s']:.1f}",
                    f"{r['train_s']:.1f}",
                    f"{r['share']:.1%}",
                    f"{r['median_epoch_share']:.1%}",
                    f"<= {r['target']:.0%}" if r["target"] is not None else "",
                    ("PASS" if r["passed"] else "FAIL") if r["passed"] is not None else "",
                )
                for r in rows
            ],
        )
    )
    parts = {name: statistics.median(times) for name, times in measured["validation_parts_s"].items()}
    total = sum(parts.values())
    print("\nOne validation evaluation, median of 3:")
    print(
        format_table(
            ("part", "s", "share of the evaluation"),
            [(name, f"{s:.3f}", f"{s / total:.0%}") for name, s in parts.items()],
        )
    )
    print(f"\nload average: {load_before:.2f} before, {load_average():.2f} after")
    if args.json:
        saved = {
            "benchmark": "eval_share",
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(["python -m bench.eval_share", *(argv if argv is not None else sys.argv[1:])]),
            "machine": machine_info(),
            "trial": settings,
            "rows": rows,
            "validation_parts_median_s": parts,
            **measured,
        }
        Path(args.json).write_text(json.dumps(saved, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
