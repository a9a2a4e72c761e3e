"""One trial's training, without Ray: build, train epoch by epoch, evaluate, save.

``PairTraining`` holds the data, the two classifiers, the discriminator and their
optimizers for one ``TrialConfig``. The Tune function (``trainable.tune_function``)
and ``run_trial`` (debugging, tests, no Ray) both drive it the same way.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from trainable.checkpoint import read_state, write_checkpoint
from trainable.config import TrialConfig
from trainable.data import DeviceData, ShippedDataset, load_splits
from trainable.device import resolve_device
from trainable.evaluate import PairOutputs, collect_outputs, evaluate_pair
from trainable.fast_path import ExecutionPlan, execution_plan
from trainable.metrics import PAIR_METRIC_NAMES
from trainable.models.dropout import use_bits_dropout
from trainable.optim import FusedAdam, FusedAdamW, FusedSGD
from trainable.pair import build_models
from trainable.probe import ProbeSettings, redundancy_probe
from trainable.step import JointStep, StepSettings

__all__ = ["DivergedError", "EVALUATED_METRICS", "PairTraining", "cosine_factor", "run_trial"]

# What one evaluation reports (trainable/metrics.py); `test_` + each of them after a final test.
EVALUATED_METRICS: tuple[str, ...] = (*PAIR_METRIC_NAMES, "cka", "disc_acc")
# Examples of each split whose representations the redundancy probe fits and scores.
PROBE_EXAMPLES = 4096
# Offset of member 2's data stream with pairing 'separate' (as classifier 2's init seed).
_SECOND_STREAM_OFFSET = 1_000_003


class DivergedError(RuntimeError):
    """A non-finite loss: the trial cannot go on."""

    def __init__(self, epoch: int, step: int, which: str) -> None:
        # args are the constructor's, so Ray can pickle and rebuild the exception.
        super().__init__(epoch, step, which)
        self.epoch, self.step, self.which = epoch, step, which

    def __str__(self) -> str:
        return f"diverged at epoch {self.epoch}, step {self.step}: the {self.which} loss is not finite"


def cosine_factor(step: int, total: int) -> float:
    """The learning-rate multiplier after ``step`` of ``total`` steps: 1 -> 0 along a half cosine.

    0.5 * (1 + cos(pi * step / total)); held at 0 after ``total`` steps.
    """
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def _classifier_optimizer(config: TrialConfig, nets: tuple[nn.Module, nn.Module], fused: bool) -> torch.optim.Optimizer:
    """One optimizer over both classifiers' trainable tensors (AdamW, or SGD with Nesterov).

    ``fused``: the same update with ``trainable.optim``'s fused kernels (the fast path).
    """
    # Only trainable tensors: the `fast` net keeps its BN scales fixed.
    params = [p for net in nets for p in net.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        adamw = FusedAdamW if fused else torch.optim.AdamW
        return adamw(params, lr=config.lr, weight_decay=config.weight_decay)
    sgd = FusedSGD if fused else torch.optim.SGD
    return sgd(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)


def _disc_optimizer(config: TrialConfig, disc: nn.Module, fused: bool) -> torch.optim.Optimizer:
    """Adam(disc_lr, betas (0.5, 0.999)) over D: the GAN setting."""
    adam = FusedAdam if fused else torch.optim.Adam
    return adam(disc.parameters(), lr=config.disc_lr, betas=(0.5, 0.999))


class PairTraining:
    """The state of one trial: data, models, optimizers, RNG, epoch counter."""

    def __init__(
        self,
        config: TrialConfig,
        device: torch.device | None = None,
        shipped: ShippedDataset | None = None,
        plan: ExecutionPlan | None = None,
    ) -> None:
        """``shipped``: the dataset as the driver read it (then no file is read here).

        ``plan``: how the step runs, instead of the one the config implies (the fast
        path, or the plain step with ``eager=true``: trainable/fast_path.py); the
        benchmarks use it to measure each part of the fast path alone.
        """
        self.config = config
        self.device = device if device is not None else resolve_device(config.device)
        self.plan: ExecutionPlan = plan if plan is not None else execution_plan(config, self.device)
        self.info, train, validation, test = load_splits(
            config.dataset, config.data_dir, config.train_size, config.val_size, shipped=shipped
        )
        self.data = DeviceData(self.info, train, test, self.device, augment=config.augment, validation=validation)
        # What a sweep selects on: validation, or the test split only when val_size is 0.
        self.eval_split = "validation" if self.data.has_validation else "test"

        net_1, net_2, disc = build_models(config, self.info)
        plan = self.plan
        if plan.bits_dropout:
            net_1, net_2 = use_bits_dropout(net_1), use_bits_dropout(net_2)
        memory_format = torch.channels_last if plan.channels_last else torch.contiguous_format
        self.net_1 = net_1.to(self.device, memory_format=memory_format)
        self.net_2 = net_2.to(self.device, memory_format=memory_format)
        self.disc = disc.to(self.device) if disc is not None else None

        self.opt = _classifier_optimizer(config, (self.net_1, self.net_2), plan.fused_optimizers)
        self.steps_per_epoch = self.data.steps_per_epoch(config.batch_size)
        total = max(1, self.steps_per_epoch * config.epochs)
        # Cosine decay over the whole trial, stepped per batch.
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda step: cosine_factor(step, total))
        self.disc_opt = _disc_optimizer(config, self.disc, plan.fused_optimizers) if self.disc is not None else None
        # CPU generators: batch order/augmentation and the dice shuffle are the same
        # on any device, and their states go into the checkpoint.
        self.data_generator = torch.Generator().manual_seed(config.seed)
        # pairing 'separate' (a deep ensemble): member 2 has its own order and augmentation.
        self.data_generator_2 = torch.Generator().manual_seed(config.seed + _SECOND_STREAM_OFFSET)
        self.step_generator = torch.Generator().manual_seed(config.seed + 7)
        self.step = JointStep(
            StepSettings(
                objective=config.objective,
                pairing=config.effective_pairing,
                w_ce=config.w_ce,
                w_adv=config.w_adv,
                dice_tau=config.dice_tau,
                disc_steps=config.disc_steps,
                label_smoothing=config.label_smoothing,
                autocast_dtype=plan.autocast_dtype,
            ),
            self.net_1,
            self.net_2,
            self.opt,
            self.disc,
            self.disc_opt,
            self.step_generator,
        )
        if plan.compile:
            # The step's forwards go through compiled wrappers sharing the parameters; the
            # evaluation, checkpoints and D's accuracy use the plain modules.
            self.step.net_1 = torch.compile(self.net_1, backend=plan.compile)
            self.step.net_2 = torch.compile(self.net_2, backend=plan.compile)
            if self.step.discriminator is not None:
                self.step.discriminator = torch.compile(self.step.discriminator, backend=plan.compile)
        # Dropout draws from torch's global RNG: seed it per trial (an actor reused
        # by Tune would otherwise carry the last trial's state) and checkpoint it.
        torch.manual_seed(config.seed + 13)
        self.epoch = 0  # epochs completed
        self.train_seconds = 0.0
        self.last_outputs: PairOutputs | None = None  # the last test-split outputs
        self.last_val_outputs: PairOutputs | None = None
        self.last_eval: dict[str, float] = {name: math.nan for name in EVALUATED_METRICS}
        self.evaluated_epoch = 0  # the epoch whose evaluation last_eval holds

    # ---------------------------------------------------------------- training
    def train_epoch(self) -> dict[str, float]:
        """One pass over the training split; raises DivergedError on a non-finite loss."""
        start = time.perf_counter()
        self.net_1.train(), self.net_2.train()
        if self.disc is not None:
            self.disc.train()
        c_losses, d_losses = [], []
        for x, y, x_2, y_2 in self._batches():
            result = self.step(x, y, x_2, y_2)
            self.schedule.step()
            c_losses.append(result.classifier_loss)
            if result.disc_loss is not None:
                d_losses.append(result.disc_loss)
        # One host sync per epoch, not per step: find the first bad step afterwards.
        epoch_no = self.epoch + 1
        c = torch.stack(c_losses).float().cpu()
        bad = (~torch.isfinite(c)).nonzero()
        if len(bad):
            raise DivergedError(epoch_no, int(bad[0]) + 1, "classifier")
        d = torch.stack(d_losses).float().cpu() if d_losses else None
        if d is not None and len(bad_d := (~torch.isfinite(d)).nonzero()):
            raise DivergedError(epoch_no, int(bad_d[0]) + 1, "discriminator")
        self.epoch = epoch_no
        self.train_seconds += time.perf_counter() - start
        return {"train_loss": float(c.mean()), "disc_loss": float(d.mean()) if d is not None else math.nan}

    def _batches(self) -> Any:
        """(x, y, x_2, y_2) per step; x_2/y_2 are None unless each member has its own stream."""
        size = self.config.batch_size
        first = self.data.train_batches(size, self.data_generator)
        if self.config.effective_pairing != "separate":
            return ((x, y, None, None) for x, y in first)
        second = self.data.train_batches(size, self.data_generator_2)
        return ((x, y, x_2, y_2) for (x, y), (x_2, y_2) in zip(first, second))

    def _outputs(self, split: str, rep_examples: int) -> PairOutputs:
        batches = self.data.eval_batches(split, self.config.eval_batch_size)
        return collect_outputs(self.net_1, self.net_2, batches, rep_examples)

    def evaluate(self, split: str | None = None) -> dict[str, float]:
        """Every metric of ``EVALUATED_METRICS`` on ``split`` (default: the split the trial selects on)."""
        split = split or self.eval_split
        start = time.perf_counter()
        outputs = self._outputs(split, self.config.cka_examples)
        if split == "test":
            self.last_outputs = outputs
        else:
            self.last_val_outputs = outputs
        metrics = evaluate_pair(outputs, self.disc, self.config.objective, self.config.seed)
        self.train_seconds += time.perf_counter() - start
        return metrics

    def should_evaluate(self) -> bool:
        return self.finished or self.epoch % self.config.eval_every == 0

    def final_test(self) -> dict[str, float]:
        """The test split, once, after the last epoch: ``test_*`` metrics and the probe.

        Only compare and study runs ask for it (``final_test``); a sweep never does.
        The probe is fitted on validation features (training features without a
        validation split) and scored on test features.
        """
        metrics = {f"test_{k}": v for k, v in self.evaluate("test").items()}
        start = time.perf_counter()
        fit_split = "validation" if self.data.has_validation else "train"
        fit = self._outputs(fit_split, PROBE_EXAMPLES)
        score = self._outputs("test", PROBE_EXAMPLES)
        n_fit, n_score = fit.reps[0].shape[0], score.reps[0].shape[0]
        metrics["probe_acc"] = redundancy_probe(
            fit.reps,
            fit.labels[:n_fit],
            score.reps,
            score.labels[:n_score],
            self.info.num_classes,
            ProbeSettings(seed=self.config.seed),
        )
        self.train_seconds += time.perf_counter() - start
        return metrics

    def run_epoch(self) -> dict[str, Any]:
        """Train one epoch and evaluate when due: the dict a trial reports.

        Epochs without an evaluation repeat the last evaluated values (NaN before the
        first), so every report has every metric; ``evaluated_epoch`` says which epoch
        they are from and ``eval_split`` which split.
        """
        metrics: dict[str, Any] = self.train_epoch()
        if self.should_evaluate():
            self.last_eval = self.evaluate()
            self.evaluated_epoch = self.epoch
        metrics.update(self.last_eval)
        if self.finished and self.config.final_test:
            metrics.update(self.final_test())
        metrics["eval_split"] = self.eval_split
        metrics["evaluated_epoch"] = self.evaluated_epoch
        metrics["epoch"] = self.epoch
        metrics["train_seconds"] = self.train_seconds
        return metrics

    @property
    def finished(self) -> bool:
        return self.epoch >= self.config.epochs

    # ------------------------------------------------------------- checkpoints
    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "config": self.config.to_dict(),
            "dataset_info": dataclasses.asdict(self.info),
            "epoch": self.epoch,
            "train_seconds": self.train_seconds,
            "net_1": self.net_1.state_dict(),
            "net_2": self.net_2.state_dict(),
            "opt": self.opt.state_dict(),
            "schedule": self.schedule.state_dict(),
            "data_rng": self.data_generator.get_state(),
            "data_rng_2": self.data_generator_2.get_state(),
            "last_eval": dict(self.last_eval),
            "evaluated_epoch": self.evaluated_epoch,
            "step_rng": self.step_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.disc is not None and self.disc_opt is not None:
            state["disc"] = self.disc.state_dict()
            state["disc_opt"] = self.disc_opt.state_dict()
        # Per-example predictions of each evaluated split: any metric can be recomputed.
        for split, outputs in (("test", self.last_outputs), ("validation", self.last_val_outputs)):
            if outputs is not None:
                state[f"{split}_predictions"] = outputs.predictions.to(torch.int16)
                state[f"{split}_ensemble_predictions"] = outputs.probs.mean(0).argmax(-1).to(torch.int16)
                state[f"{split}_labels"] = outputs.labels
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net_1.load_state_dict(state["net_1"])
        self.net_2.load_state_dict(state["net_2"])
        self.opt.load_state_dict(state["opt"])
        self.schedule.load_state_dict(state["schedule"])
        self.data_generator.set_state(state["data_rng"])
        if "data_rng_2" in state:
            self.data_generator_2.set_state(state["data_rng_2"])
        self.last_eval = {k: float(v) for k, v in state.get("last_eval", self.last_eval).items()}
        self.evaluated_epoch = int(state.get("evaluated_epoch", 0))
        self.step_generator.set_state(state["step_rng"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and "cuda_rng" in state:
            torch.cuda.set_rng_state(state["cuda_rng"], self.device)
        if self.disc is not None and self.disc_opt is not None:
            self.disc.load_state_dict(state["disc"])
            self.disc_opt.load_state_dict(state["disc_opt"])
        self.epoch = int(state["epoch"])
        self.train_seconds = float(state["train_seconds"])

    def save(self, directory: str | Path) -> Path:
        return write_checkpoint(directory, self.state_dict())

    def restore(self, directory: str | Path) -> None:
        self.load_state_dict(read_state(directory))

    def should_checkpoint(self) -> bool:
        return self.finished or self.epoch % self.config.checkpoint_every == 0


def run_trial(
    config: TrialConfig | dict[str, Any],
    on_epoch: Callable[[dict[str, float], PairTraining], None] | None = None,
    resume_from: str | Path | None = None,
    device: torch.device | None = None,
) -> list[dict[str, float]]:
    """Train one config to the end without Ray; returns the metrics of every epoch.

    ``on_epoch(metrics, training)`` is called after each epoch (e.g. to save a
    checkpoint with ``training.save(dir)``); ``resume_from`` is a checkpoint folder.
    """
    cfg = config if isinstance(config, TrialConfig) else TrialConfig.from_dict(config)
    training = PairTraining(cfg, device)
    if resume_from is not None:
        training.restore(resume_from)
    history = []
    while not training.finished:
        metrics = training.run_epoch()
        history.append(metrics)
        if on_epoch is not None:
            on_epoch(metrics, training)
    return history
