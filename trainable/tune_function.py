"""The Ray Tune trainable: the one module of ``trainable/`` that imports Ray.

A plain function of the config dict (Ray's function-trainable convention): it
validates the dict into a ``TrialConfig``, resumes from ``ray.tune.get_checkpoint()``
when Tune restarts it, and reports every metric after each epoch with
``ray.tune.report``, attaching a checkpoint every ``checkpoint_every`` epochs.
"""
from __future__ import annotations

import logging
import os
import tempfile
from typing import Any

import ray.tune
import torch

from trainable.config import TrialConfig
from trainable.loop import PairTraining

__all__ = ["train"]


def train(config: dict[str, Any]) -> None:
    cfg = TrialConfig.from_dict(config)
    # Ray logs a line per saved checkpoint; the progress table is what users watch.
    logging.getLogger("ray.train").setLevel(logging.WARNING)
    # Ray sets OMP_NUM_THREADS to the trial's CPU count; make torch agree with it
    # (torch reads it only at import, which may have happened before Ray set it).
    threads = os.environ.get("OMP_NUM_THREADS")
    if threads and threads.isdigit() and int(threads) > 0:
        torch.set_num_threads(int(threads))
    training = PairTraining(cfg)
    checkpoint = ray.tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as folder:
            training.restore(folder)
    while not training.finished:
        metrics = training.run_epoch()
        if training.should_checkpoint():
            with tempfile.TemporaryDirectory(prefix="netsep-ckpt-") as folder:
                training.save(folder)
                ray.tune.report(metrics, checkpoint=ray.tune.Checkpoint.from_directory(folder))
        else:
            ray.tune.report(metrics)
