"""A results folder whose configurations ran as replicates over seeds (K = 3), for the report tests.

Tune's layout as ``tests.sweep.tune_folders`` writes it, with what the searcher puts in
each trial's config since configurations have seeds: ``config_id`` (the Optuna trial
number), ``replicate`` r and ``seed`` 0 + r; the baseline ran over the same seeds.

Final (ensemble_acc, excess_agreement) per seed 0, 1, 2, and what the report must make of them:

* baseline ``b0000001..3``: (0.80, 0.060), (0.82, 0.062), (0.81, 0.061); its seed sd
  (the noise floor) is 0.01 and 0.001;
* ``c0``: about +0.10 accuracy and -0.04 excess agreement on every seed: on the front and
  **claimed** (beats the baseline on both objectives after Holm over the front);
* ``c1``: +0.15 accuracy on every seed, excess agreement within noise of the baseline's
  (+0.0015, -0.0015, +0.0015): on the front (best accuracy), not claimed;
* ``c2``: within noise of the baseline on both, dominated by ``c0``: off the front;
* ``c3``: seed 1 diverged: the configuration failed, named by its seed;
* ``c4``: the best numbers of all, but its discriminator sat at chance on every seed: an
  inert adversary, infeasible, off the front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.sweep.tune_folders import DIVERGED_ERROR_TXT, SPACE, T0, TuneFolder, metrics_row

K = 3
BASELINE = {"objective": "independent", "w_adv": 0.0, "pairing": "shared"}
BASELINE_FINAL = [(0.80, 0.060), (0.82, 0.062), (0.81, 0.061)]
PARAMS: dict[int, dict[str, Any]] = {
    0: {"w_adv": 0.1, "disc_arch": "mlp"},
    1: {"w_adv": 0.2, "disc_arch": "siamese_pool", "disc_depth": 2},
    2: {"w_adv": 0.3, "disc_arch": "mlp"},
    3: {"w_adv": 0.4, "disc_arch": "mlp"},
    4: {"w_adv": 0.5, "disc_arch": "mlp"},
}
FINAL: dict[int, list[tuple[float, float]]] = {
    0: [(0.900, 0.0200), (0.922, 0.0210), (0.909, 0.0215)],
    1: [(0.950, 0.0615), (0.975, 0.0605), (0.955, 0.0625)],
    2: [(0.805, 0.0610), (0.815, 0.0600), (0.812, 0.0620)],
    3: [(0.900, 0.0300), (0.950, 0.0000), (0.910, 0.0300)],
    4: [(0.990, 0.0010), (0.995, 0.0020), (0.985, 0.0015)],
}
INERT = 4  # disc_acc 0.5 on every seed
FAILED = (3, 1)  # (configuration, replicate) that raised after its first epoch


def trial_id(config_id: int, replicate: int) -> str:
    return f"c{config_id}s{replicate}"


def _trial(
    f: TuneFolder,
    tid: str,
    status: str,
    config: dict[str, Any],
    curve: list[tuple[float, float]],
    *,
    start: float,
    disc_acc: float | None = None,
    **kwargs: Any,
) -> None:
    rows = [metrics_row(a, e, i + 1, tid, config) for i, (a, e) in enumerate(curve)]
    for row in rows:
        row["timestamp"] = int(T0 + start + 10 * row["epoch"])
        if disc_acc is not None:
            row["disc_acc"] = disc_acc
    f.trial(tid, status, config, rows, start=start, **kwargs)


def build_replicated(root: Path, configs: tuple[int, ...] = tuple(PARAMS)) -> TuneFolder:
    """The folder the module doc describes (only ``configs`` of it): the baseline's 3 seeds first, then each
    configuration's 3 seeds, numbered as Optuna proposed them."""
    f = TuneFolder(root, space={**SPACE, "trials": len(configs), "replicates": K})
    start = 0.0
    for r, (acc, excess) in enumerate(BASELINE_FINAL):
        config = {**f.fixed, **BASELINE, "arm": "baseline", "seed": r, "replicate": r}
        _trial(f, f"b{r + 1:07d}", "TERMINATED", config, [(0.7, 0.2), (0.75, 0.1), (acc, excess)], start=start)
        start += 1
    for number in configs:
        params = PARAMS[number]
        for r, (acc, excess) in enumerate(FINAL[number]):
            config = {**f.fixed, **params, "seed": r, "config_id": number, "replicate": r}
            tid = trial_id(number, r)
            if (number, r) == FAILED:
                _trial(f, tid, "ERROR", config, [(0.7, 0.2)], start=start, error=DIVERGED_ERROR_TXT)
            else:
                curve = [(0.7, 0.2), (0.8 + 0.01 * r, 0.1), (acc, excess)]
                _trial(f, tid, "TERMINATED", config, curve, start=start, disc_acc=0.5 if number == INERT else None)
            start += 1
    f.save_state()
    return f
