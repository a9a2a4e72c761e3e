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
from trainable.data import DeviceData, load_dataset
from trainable.device import resolve_device
from trainable.evaluate import PairOutputs, collect_outputs, evaluate_pair
from trainable.pair import build_models
from trainable.step import JointStep, StepSettings

__all__ = ["DivergedError", "PairTraining", "cosine_factor", "run_trial"]


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


def _classifier_optimizer(config: TrialConfig, nets: tuple[nn.Module, nn.Module]) -> torch.optim.Optimizer:
    """One optimizer over both classifiers' trainable tensors (AdamW, or SGD with Nesterov)."""
    # Only trainable tensors: the `fast` net keeps its BN scales fixed.
    params = [p for net in nets for p in net.parameters() if p.requires_grad]
    if config.optimizer == "adam":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)


class PairTraining:
    """The state of one trial: data, models, optimizers, RNG, epoch counter."""

    def __init__(self, config: TrialConfig, device: torch.device | None = None) -> None:
        self.config = config
        self.device = device if device is not None else resolve_device(config.device)
        on_cuda = self.device.type == "cuda"
        self.info, train, test = load_dataset(config.dataset, config.data_dir, config.train_size)
        self.data = DeviceData(self.info, train, test, self.device, augment=config.augment)

        net_1, net_2, disc = build_models(config, self.info)
        memory_format = torch.channels_last if on_cuda else torch.contiguous_format
        self.net_1 = net_1.to(self.device, memory_format=memory_format)
        self.net_2 = net_2.to(self.device, memory_format=memory_format)
        self.disc = disc.to(self.device) if disc is not None else None

        self.opt = _classifier_optimizer(config, (self.net_1, self.net_2))
        self.steps_per_epoch = self.data.steps_per_epoch(config.batch_size)
        total = max(1, self.steps_per_epoch * config.epochs)
        # Cosine decay over the whole trial, stepped per batch.
        self.schedule = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda step: cosine_factor(step, total))
        self.disc_opt = (
            torch.optim.Adam(self.disc.parameters(), lr=config.disc_lr, betas=(0.5, 0.999))
            if self.disc is not None else None
        )
        # CPU generators: batch order/augmentation and the dice shuffle are the same
        # on any device, and their states go into the checkpoint.
        self.data_generator = torch.Generator().manual_seed(config.seed)
        self.step_generator = torch.Generator().manual_seed(config.seed + 7)
        self.step = JointStep(
            StepSettings(
                objective=config.objective, pairing=config.effective_pairing, w_ce=config.w_ce,
                w_adv=config.w_adv, dice_tau=config.dice_tau, disc_steps=config.disc_steps,
                label_smoothing=config.label_smoothing,
                autocast_dtype=torch.bfloat16 if on_cuda else None,
            ),
            self.net_1, self.net_2, self.opt, self.disc, self.disc_opt, self.step_generator,
        )
        # Dropout draws from torch's global RNG: seed it per trial (an actor reused
        # by Tune would otherwise carry the last trial's state) and checkpoint it.
        torch.manual_seed(config.seed + 13)
        self.epoch = 0  # epochs completed
        self.train_seconds = 0.0
        self.last_outputs: PairOutputs | None = None

    # ---------------------------------------------------------------- training
    def train_epoch(self) -> dict[str, float]:
        """One pass over the training split; raises DivergedError on a non-finite loss."""
        start = time.perf_counter()
        self.net_1.train(), self.net_2.train()
        if self.disc is not None:
            self.disc.train()
        c_losses, d_losses = [], []
        for x, y in self.data.train_batches(self.config.batch_size, self.data_generator):
            result = self.step(x, y)
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

    def evaluate(self) -> dict[str, float]:
        """Every metric of DESIGN §4 on the test split."""
        start = time.perf_counter()
        outputs = collect_outputs(
            self.net_1, self.net_2, self.data.test_batches(self.config.eval_batch_size), self.config.cka_examples
        )
        self.last_outputs = outputs
        metrics = evaluate_pair(outputs, self.disc, self.config.objective, self.config.seed)
        self.train_seconds += time.perf_counter() - start
        return metrics

    def run_epoch(self) -> dict[str, float]:
        """Train one epoch and evaluate: the dict a trial reports."""
        metrics = self.train_epoch()
        metrics.update(self.evaluate())
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
            "step_rng": self.step_generator.get_state(),
            "torch_rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        if self.disc is not None and self.disc_opt is not None:
            state["disc"] = self.disc.state_dict()
            state["disc_opt"] = self.disc_opt.state_dict()
        if self.last_outputs is not None:
            # Per-example predictions on the test split: any metric can be recomputed.
            state["test_predictions"] = self.last_outputs.predictions.to(torch.int16)
            state["test_ensemble_predictions"] = self.last_outputs.probs.mean(0).argmax(-1).to(torch.int16)
            state["test_labels"] = self.last_outputs.labels
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net_1.load_state_dict(state["net_1"])
        self.net_2.load_state_dict(state["net_2"])
        self.opt.load_state_dict(state["opt"])
        self.schedule.load_state_dict(state["schedule"])
        self.data_generator.set_state(state["data_rng"])
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
