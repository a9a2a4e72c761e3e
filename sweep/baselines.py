"""The `independent` baselines a sweep's or a compare's arms are measured against.

Pure: fixed settings in, trial-setting dicts out. One home for "which baseline
matches which arm", used by the sweep (to run them), the report (to name them when
missing) and compare (to build the baseline arms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from trainable.config import TrialConfig
from trainable.objectives import objective_spec

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


def baseline_configs(
    fixed: Mapping[str, Any],
    objectives: Iterable[str] | None = None,
    pairings: Iterable[str | None] | None = None,
) -> list[dict[str, Any]]:
    """One baseline per pairing the sweep's arms can have, sorted by pairing.

    ``objectives`` are the objectives the sweep searches (the choices of a searched
    ``objective`` param); ``None`` means the fixed one (or TrialConfig's default).
    ``pairings`` are the choices of a searched ``pairing`` param (``seed`` trains with
    split or shared; a None choice is the objective's own); ``None`` means the fixed one
    (or the objective's own). An objective gets each searched pairing it can train with,
    else its own: the space check refuses any other combination unless a ``when`` leaves
    ``pairing`` out for that objective. Searched params a baseline also has (a
    classifier lr, say) keep the TrialConfig default.
    """
    if objectives is None:
        objectives = [fixed.get("objective", TrialConfig.objective)]
    searched = list(pairings or [])
    found = set()
    for objective in objectives:
        usable = [p for p in searched if p is None or p in _trains_with(objective)]
        for pairing in usable or [None]:
            found.add(pairing_of({**fixed, "objective": objective, **({"pairing": pairing} if pairing else {})}))
    return [baseline_config(fixed, p) for p in sorted(found)]


def _trains_with(objective: str) -> tuple[str, ...]:
    """The pairings ``objective`` can train with; none for a name the table lacks (reported elsewhere)."""
    try:
        return objective_spec(objective).pairings
    except ValueError:
        return ()
