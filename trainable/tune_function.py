"""The Ray Tune trainable: the one module of ``trainable/`` that imports Ray.

A plain function of the config dict (Ray's function-trainable convention): it
validates the dict into a ``TrialConfig``, resumes from ``ray.tune.get_checkpoint()``
when Tune restarts it, and reports every metric after each epoch with
``ray.tune.report``, attaching a checkpoint every ``checkpoint_every`` epochs.
It trains on the device Ray assigned (``trainable.device.choose_device``).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import ray.tune
import torch

from trainable.config import TrialConfig
from trainable.data import ShippedDataset
from trainable.device import resolve_device
from trainable.loop import DivergedError, PairTraining
from trainable.metric_names import METRICS

__all__ = ["DIVERGED_FILE", "train"]

DIVERGED_FILE = "diverged.json"


def _report_divergence(err: DivergedError) -> None:
    """Leave a checkpoint that says the trial diverged, so FailureConfig's retries are free."""
    with tempfile.TemporaryDirectory(prefix="netsep-diverged-") as folder:
        info = {"epoch": err.epoch, "step": err.step, "which": err.which}
        (Path(folder) / DIVERGED_FILE).write_text(json.dumps(info))
        # Every metric is present (as NaN): Tune checks that the searcher's are.
        result: dict[str, Any] = {name: math.nan for name in METRICS}
        result.update(epoch=err.epoch - 1, diverged=str(err))
        ray.tune.report(result, checkpoint=ray.tune.Checkpoint.from_directory(folder))


def train(config: dict[str, Any], shipped: ShippedDataset | None = None) -> None:
    """One trial. ``shipped``: the dataset from the driver, through Ray's object store
    (``tune.with_parameters``), so this node needs no dataset files."""
    cfg = TrialConfig.from_dict(config)
    # Ray logs a line per saved checkpoint; the progress table is what users watch.
    logging.getLogger("ray.train").setLevel(logging.WARNING)
    # Ray sets OMP_NUM_THREADS to the trial's CPU count; make torch agree with it
    # (torch reads it only at import, which may have happened before Ray set it).
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
    # The GPU Ray gave this trial (none when --gpus-per-trial is 0): see trainable.device.
    training = PairTraining(cfg, resolve_device(cfg.device, assigned_gpu_ids=ray.get_gpu_ids()), shipped=shipped)
    checkpoint = ray.tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            marker = Path(folder) / DIVERGED_FILE
            if marker.is_file():
                # Divergence is deterministic: a retry fails at once instead of retraining.
                raise DivergedError(**json.loads(marker.read_text()))
            training.restore(folder)
    while not training.finished:
        try:
            metrics = training.run_epoch()
        except DivergedError as err:
            _report_divergence(err)
            raise
        if training.should_checkpoint():
            with tempfile.TemporaryDirectory(prefix="netsep-ckpt-") as folder:
                training.save(folder)
                ray.tune.report(metrics, checkpoint=ray.tune.Checkpoint.from_directory(folder))
        else:
            ray.tune.report(metrics)
