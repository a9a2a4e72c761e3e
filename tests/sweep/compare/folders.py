"""Hand-built sweeps and compare runs in Ray Tune's layout (no Ray runtime).

``sweep_folder`` writes a finished sweep whose front the compare planner reads;
``CompareRuns`` writes the compare experiment (``<compare>/tune``): per run a
result.json whose metrics agree with the test predictions its checkpoint holds, as
the real trainable's do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from sweep.compare.plan import ComparePlan
from tests.sweep.tune_folders import SPACE, TuneExperimentWriter, TuneFolder
from trainable.checkpoint import write_checkpoint

__all__ = ["N_TEST", "MIXED_SPACE", "sweep_folder", "CompareRuns"]

N_TEST = 200  # test examples of the hand-built runs
VALIDATION_SHIFT = 0.03  # validation values = test values - this, in the hand-built runs
BASELINE = {"objective": "independent", "w_adv": 0.0}
# The training objective itself is searched: seed arms split each batch, dice arms share it.
MIXED_SPACE: dict[str, Any] = {
    **SPACE,
    "name": "mixed",
    "fixed": {"classifier": "simple3", "epochs": 2, "batch_size": 64},
    "params": {
        "objective": {"type": "categorical", "choices": ["seed", "dice"]},
        "w_adv": {"type": "float", "low": 0.001, "high": 1.0, "log": True},
    },
}


def sweep_folder(root: Path, *, baseline: bool = True, mixed: bool = False) -> TuneFolder:
    """A finished sweep: two search trials on the front (a1 best), one dominated; its baselines if ``baseline``."""
    space = MIXED_SPACE if mixed else SPACE
    f = TuneFolder(root, space={**space, "baseline": baseline}, baseline=baseline)
    epochs = int(space["fixed"]["epochs"])
    if baseline:
        for n, pairing in enumerate(["shared", "split"] if mixed else ["shared"], start=1):
            f.sweep_trial(
                f"b000000{n}", "TERMINATED", {}, [(0.8, 0.05)] * epochs, baseline={**BASELINE, "pairing": pairing}
            )
    if mixed:
        trials = [
            ({"objective": "seed", "w_adv": 0.1}, 0.9, 0.10),
            ({"objective": "dice", "w_adv": 0.2}, 0.85, 0.2),
            ({"objective": "dice", "w_adv": 0.3}, 0.80, 0.05),
        ]
    else:
        trials = [
            ({"w_adv": 0.1, "disc_arch": "mlp"}, 0.9, 0.10),
            ({"w_adv": 0.2, "disc_arch": "mlp"}, 0.85, 0.02),
            ({"w_adv": 0.3, "disc_arch": "mlp"}, 0.80, 0.20),
        ]
    # (ensemble_acc max, excess_agreement min): a1 and a2 trade off, a3 is dominated.
    for n, (params, acc, excess) in enumerate(trials, start=1):
        f.sweep_trial(f"a000000{n}", "TERMINATED", params, [(acc, excess)] * epochs, start=n)
    f.save_state()
    return f


class CompareRuns:
    """Writes the compare experiment of ``plan``: one run per call, predictions drawn per (arm, seed)."""

    def __init__(self, plan: ComparePlan, seed: int = 0) -> None:
        self.plan = plan
        self.writer = TuneExperimentWriter(Path(plan.tune_path))
        self.rng = np.random.default_rng(seed)
        self.labels = self.rng.integers(0, 10, size=N_TEST)
        self.predictions: dict[tuple[str, int], tuple[np.ndarray, np.ndarray]] = {}

    def _guess(self, p_right: float) -> np.ndarray:
        right = self.rng.random(N_TEST) < p_right
        return np.where(right, self.labels, (self.labels + 1 + self.rng.integers(0, 9, N_TEST)) % 10)

    def _metrics(self, member: np.ndarray, ensemble: np.ndarray) -> dict[str, float]:
        acc_1, acc_2 = (float(np.mean(member[i] == self.labels)) for i in range(2))
        both = float(np.mean((member[0] == self.labels) & (member[1] == self.labels)))
        return {
            "acc_1": acc_1,
            "acc_2": acc_2,
            "member_acc": (acc_1 + acc_2) / 2,
            "min_member_acc": min(acc_1, acc_2),
            "ensemble_acc": float(np.mean(ensemble == self.labels)),
            "disagreement": float(np.mean(member[0] != member[1])),
            "excess_agreement": both - acc_1 * acc_2,
            "cka": 0.9,
            "disc_acc": 0.6,
        }

    def run(
        self,
        arm: str,
        seed: int,
        *,
        status: str = "TERMINATED",
        epochs: int | None = None,
        p_right: float = 0.8,
        error: str | None = None,
        checkpoint: bool = True,
        legacy: bool = False,
    ) -> str:
        """One run; returns its trial id. ``epochs`` below the config's makes it unfinished.

        As the trainable does with ``final_test``, every epoch reports validation values
        (here: the test values shifted by VALIDATION_SHIFT, so that a mix-up shows) and the
        last epoch also reports ``test_<name>`` and ``probe_acc``. ``legacy``: a run from
        before final_test, whose plain names are its test values.
        """
        config = {**next(a for a in self.plan.arms if a.name == arm).config, "seed": seed, "arm": arm}
        if not legacy:
            config["final_test"] = True
        member = np.stack([self._guess(p_right), self._guess(p_right)])
        ensemble = np.where(self.rng.random(N_TEST) < 0.5, member[0], member[1])
        done = int(config["epochs"]) if epochs is None else epochs
        test = self._metrics(member, ensemble)
        shift = 0.0 if legacy else VALIDATION_SHIFT
        rows = [
            {
                **{k: v - shift for k, v in test.items()},
                "epoch": e,
                "training_iteration": e,
                "timestamp": 1000.0 + e,
                "eval_split": "test" if legacy else "validation",
            }
            for e in range(1, done + 1)
        ]
        if rows and done == int(config["epochs"]) and not legacy:
            rows[-1].update({f"test_{k}": v for k, v in test.items() if k != "disc_acc"})
            rows[-1]["probe_acc"] = 0.6 if config.get("objective") == "independent" else 0.55
        trial_id = f"{len(self.writer.entries):08x}"

        def save(folder: Path) -> None:
            write_checkpoint(
                folder,
                {
                    "config": config,
                    "test_labels": torch.from_numpy(self.labels).to(torch.int16),
                    "test_predictions": torch.from_numpy(member).to(torch.int16),
                    "test_ensemble_predictions": torch.from_numpy(ensemble).to(torch.int16),
                },
            )

        self.writer.trial(
            trial_id,
            status,
            config,
            rows,
            error=error,
            keep=1 if checkpoint else 0,
            write_checkpoint=save,
            start=float(len(self.writer.entries)),
        )
        if status == "TERMINATED" and done == int(config["epochs"]):
            self.predictions[(arm, seed)] = (member == self.labels, ensemble == self.labels)
        return trial_id

    def all_complete(self, p_right: dict[str, float] | None = None) -> None:
        """Every (seed, arm) of the plan, complete, in Tune's order (seeds outermost)."""
        for seed in self.plan.seeds:
            for arm in self.plan.arms:
                self.run(arm.name, seed, p_right=(p_right or {}).get(arm.name, 0.8))
