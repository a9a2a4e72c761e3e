"""Weights & Biases logging of a sweep's trials, each run carrying the sweep's provenance.

Ray's ``WandbLoggerCallback`` gives ``wandb.init`` the trial's settings as the run's
config; a ``config`` passed to the callback itself would replace them. So this
subclass adds the provenance (commit, dirty, versions: ``sweep.provenance.tracker_fields``)
beside the settings, under ``netsep_provenance``, where the callback starts a trial's
logging actor. Imported only for ``--wandb`` (it imports Ray). On ``--resume`` Tune
restores the callback it saved, with the first run's provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.air.integrations.wandb import WandbLoggerCallback

__all__ = ["PROVENANCE_KEY", "ProvenanceWandbCallback"]

PROVENANCE_KEY = "netsep_provenance"


class ProvenanceWandbCallback(WandbLoggerCallback):
    """``WandbLoggerCallback`` whose runs' config holds ``provenance`` beside the trial's settings."""

    def __init__(self, *, provenance: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.provenance = dict(provenance)

    def _start_logging_actor(self, trial: Any, exclude_results: list[str], **wandb_init_kwargs: Any) -> None:
        # Ray 2.60 passes wandb.init's arguments, the trial's config among them, through here.
        config = {**(wandb_init_kwargs.get("config") or {}), PROVENANCE_KEY: self.provenance}
        super()._start_logging_actor(trial, exclude_results, **{**wandb_init_kwargs, "config": config})
