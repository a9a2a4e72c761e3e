"""Step benchmark on the CPU: the pair step against the machine's peak, and what the pair and D add.

Run from the repository root::

    python -m bench.step                  # the real measurement (about 8 minutes on 2 idle cores)
    python -m bench.step --json out.json  # also save every number
    python -m bench.step --quick          # a tiny smoke run: its timings mean nothing

Two sections, both with the trials built by ``trainable.loop.PairTraining`` as a real
trial builds them, on one fixed batch per setting, timed interleaved (``bench.timing``:
each round runs every case once for ``--steps`` steps, the starting case rotating; a
case's time is the median over ``--rounds`` rounds; every ratio is between medians of
the same run), at ``--threads`` torch threads (default 1: what a trial gets from Ray
with one CPU, as the studies run):

1. **Speed** (``bench.step_speed``): the machine's peak (``bench.roofline``: a large
   matrix product and a large convolution, fp32 and bf16, same threads), then for the
   study setting and the default setting, the pair step of each plan of a ladder from
   the plain step (``eager=true``) to the fast path: ms per step, images/s, the speed-up
   over ``eager``, achieved GFLOP/s and their fraction of the peak.
2. **Overheads** (``bench.step_overheads``): one classifier, the independent pair, the
   joint step with each D, batch preparation, on the default plan; ratios with targets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from typing import Any

import torch

from bench.roofline import measure_peaks
from bench.step_overheads import OverheadSettings, build_cases, format_table, rows_of
from bench.step_speed import DEFAULT, QUICK, STUDY, format_speed_table, measure_setting
from bench.timing import load_now, time_interleaved
from trainable.fast_path import cpu_bf16_native

__all__ = ["main", "run_benchmark"]


def _machine() -> dict[str, Any]:
    return {
        "cpus_available": len(os.sched_getaffinity(0)),
        "processor": platform.processor() or platform.machine(),
        "cpu_bf16_native": cpu_bf16_native(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def run_benchmark(args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Both sections as asked by the parsed command line; the JSON-ready result."""
    threads = args.threads
    all_threads = len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    result: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["python -m bench.step", *args.argv]),
        "machine": _machine(),
        "threads": threads,
        "load_before": load_now(),
        "peaks": {},
        "speed": [],
        "speed_facts": {},
        "overheads": [],
        "overhead_facts": {},
    }
    if "speed" in args.sections:
        log(f"peak: matrix product and convolution, fp32 and bf16, {threads} thread(s) ...")
        peaks = measure_peaks((torch.float32, torch.bfloat16), scale=0.125 if args.quick else 1.0)
        result["peaks"] = {name: asdict(p) for name, p in peaks.items()}
        for setting in QUICK if args.quick else (STUDY, DEFAULT):
            log(f"[speed: {setting.name}] load {load_now()} ...")
            measured = measure_setting(
                setting,
                peaks,
                rounds=args.rounds,
                steps=args.steps,
                warmup=args.warmup,
                threads=threads,
                all_threads=threads if args.quick else all_threads,  # --quick leaves out the all-threads row
                compile_too=not args.no_compile,
            )
            result["speed"].extend(measured["rows"])
            result["speed_facts"][setting.name] = measured["facts"]
        result["peaks_after"] = {
            name: asdict(p)
            for name, p in measure_peaks((torch.float32, torch.bfloat16), scale=0.125 if args.quick else 1.0).items()
        }
    if "overheads" in args.sections:
        base = OverheadSettings(datasets=("digits",), width=0.25, batch_size=32) if args.quick else OverheadSettings()
        settings = replace(base, datasets=tuple(args.datasets) if args.datasets else base.datasets)
        for dataset in settings.datasets:
            log(f"[overheads: {dataset}] load {load_now()} ...")
            cases, facts = build_cases(settings, dataset, args.steps)
            samples, faults = time_interleaved(cases, args.rounds, args.warmup)
            result["overheads"].extend(asdict(row) for row in rows_of(dataset, cases, samples, faults))
            result["overhead_facts"][dataset] = facts
    result["load_after"] = load_now()
    return result


def _peak_lines(result: dict[str, Any]) -> str:
    lines = []
    for name, p in result["peaks"].items():
        after = result.get("peaks_after", {}).get(name)
        lines.append(
            f"peak {name}: {p['gflops']:.0f} GFLOP/s (matmul {p['matmul_gflops']:.0f}, conv {p['conv_gflops']:.0f})"
            + (f"; after the cases {after['gflops']:.0f}" if after else "")
            + f", {p['threads']} thread(s)"
        )
    for name, facts in result["speed_facts"].items():
        floors = ", ".join(
            f"{k.split('_')[0]} {facts[k]:.1f} ms" for k in ("fp32_floor_ms", "bf16_floor_ms") if facts[k] is not None
        )
        lines.append(
            f"{name}: {facts['flops_per_step'] / 1e9:.2f} GFLOP per pair step (convolutions and matrix products); "
            f"at the peak that is {floors}"
        )
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.step", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="tiny smoke run (digits, tiny nets, 2 rounds): checks the script"
    )
    p.add_argument("--json", metavar="PATH", help="also write every number to this JSON file")
    p.add_argument("--sections", nargs="+", choices=("speed", "overheads"), default=["speed", "overheads"])
    p.add_argument("--datasets", nargs="+", metavar="NAME", help="overheads: default fashion-mnist digits")
    p.add_argument("--rounds", type=int, help="timed rounds per case (default 7; the median needs >= 5)")
    p.add_argument("--steps", type=int, help="steps per case per round (default 3)")
    p.add_argument("--warmup", type=int, help="untimed steps per case first (default 3)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, a trial's under Ray)")
    p.add_argument("--no-compile", action="store_true", help="leave out the torch.compile case (minutes of compiling)")
    p.add_argument("--strict", action="store_true", help="exit 1 when an overhead target is missed")
    args = p.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    quick = args.quick
    args.rounds = args.rounds or (2 if quick else 7)
    args.steps = args.steps or (1 if quick else 3)
    args.warmup = args.warmup if args.warmup is not None else (1 if quick else 3)
    args.no_compile = args.no_compile or quick  # inductor's first compilation alone is minutes of a smoke run
    for name in ("rounds", "steps", "threads"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name} must be >= 1, got {getattr(args, name)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    print(
        f"torch threads: {args.threads} (CPUs available: {len(os.sched_getaffinity(0))}); "
        f"bf16 in hardware: {cpu_bf16_native()}; load average {load_now()}",
        flush=True,
    )
    if args.rounds < 5 and not args.quick:
        print("note: fewer than 5 rounds; the medians are not the benchmark's", flush=True)
    result = run_benchmark(args, log=lambda msg: print(msg, flush=True))
    failed: list[str] = []
    if result["speed"]:
        print()
        print(_peak_lines(result))
        print()
        print(format_speed_table(result["speed"]))
    if result["overheads"]:
        print()
        print(format_table(result["overheads"]))
        checked = [r for r in result["overheads"] if r["passed"] is not None]
        failed = [f"{r['dataset']}: {r['setting']}" for r in checked if not r["passed"]]
        print(
            f"\n{len(checked) - len(failed)}/{len(checked)} overhead targets met"
            + (f"; missed: {', '.join(failed)}" if failed else "")
            + "."
        )
    print(f"Load average before {result['load_before']}, after {result['load_after']}.")
    if args.quick:
        print("(--quick: tiny models and few rounds; these timings say nothing about the targets)")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.json}")
    return 1 if (args.strict and failed) else 0


if __name__ == "__main__":
    sys.exit(main())
