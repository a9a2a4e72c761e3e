"""The `independent` baselines a sweep's or a compare's arms are measured against.

Pure: fixed settings in, trial-setting dicts out. One home for "which baseline
matches which arm", used by the sweep (to run them), the report (to name them when
missing) and compare (to build the baseline arms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trainable.config import TrialConfig

__all__ = ["pairing_of", "baseline_config", "baseline_configs", "BASELINE_ARM"]

BASELINE_ARM = "baseline"  # the `arm` label of a baseline trial


def pairing_of(settings: Mapping[str, Any]) -> str:
    """How a trial with these settings shares each batch (``split`` or ``shared``).

    ``pairing`` when set, else what the objective implies (docs/design.md, "One training
    step": `seed` splits, the others share). Reads the settings only; validation happens elsewhere.
    """
    pairing = settings.get("pairing")
    if pairing:
        return str(pairing)
    objective = settings.get("objective", TrialConfig.objective)
    return "split" if objective == "seed" else "shared"


def baseline_config(fixed: Mapping[str, Any], pairing: str) -> dict[str, Any]:
    """The `independent` pair with ``fixed``'s settings that sees the data as ``pairing`` says."""
    return {**fixed, "objective": "independent", "w_adv": 0.0, "pairing": pairing}


def baseline_configs(fixed: Mapping[str, Any], objectives: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """One baseline per pairing the sweep's arms can have, sorted by pairing.

    ``objectives`` are the objectives the sweep searches (the choices of a searched
    ``objective`` param); ``None`` means the fixed one (or TrialConfig's default).
    Searched params a baseline also has (a classifier lr, say) keep the TrialConfig
    default.
    """
    if objectives is None:
        objectives = [fixed.get("objective", TrialConfig.objective)]
    pairings = sorted({pairing_of({**fixed, "objective": o}) for o in objectives})
    return [baseline_config(fixed, p) for p in pairings]
