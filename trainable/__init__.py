"""netsep's PyTorch side: data, models, the joint step, metrics, the Tune function.

Heavy names are imported lazily so that ``trainable.metric_names`` and
``trainable.config`` stay cheap to import from ``sweep/``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TrialConfig", "load_pair", "run_trial"]


def __getattr__(name: str) -> Any:
    if name == "load_pair":
        from trainable.pair import load_pair

        return load_pair
    if name == "run_trial":
        from trainable.loop import run_trial

        return run_trial
    if name == "TrialConfig":
        from trainable.config import TrialConfig

        return TrialConfig
    raise AttributeError(name)
