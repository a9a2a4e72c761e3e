"""``launch.py validate``: check a space plus ``key=value`` settings and describe what would run.

The checks are the ones a sweep makes before Ray starts (``sweep.plan.resolve_settings``);
the description is plain text: the space, the trial settings every trial gets (and
where each comes from) and the distributions Optuna samples. Writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from sweep.baselines import baseline_configs
from sweep.formatting import param_text, text_table
from sweep.plan import resolve_settings
from sweep.requests import ValidateRequest
from sweep.spaces import SearchSpace, load_space

__all__ = ["describe_distribution", "describe_space"]

_INTERNAL = ("arm",)  # set by netsep per trial (baseline, compare arms), not by the user


def describe_space(request: ValidateRequest) -> str:
    """Validate ``request`` (UserError on any problem) and describe the sweep it would run."""
    from trainable.config import TrialConfig

    space = load_space(request.space)
    fixed = resolve_settings(space, request.overrides)
    config = _as_dict(TrialConfig.from_dict(fixed))
    baselines = (
        baseline_configs(fixed, space.searched_objectives(), space.searched_pairings()) if space.baseline else []
    )
    lines = [
        f"space {space.name!r} ({space.source}): {space.description}",
        (
            f"trials: {space.trials}, sampler: {space.sampler} (seed {space.seed}), "
            f"baseline: {_baseline_text(baselines)}"
        ),
        "objectives: " + ", ".join(f"{o.metric} ({o.direction})" for o in space.objectives),
        "",
        "trial settings (every trial):",
        _settings_table(config, space, request.overrides),
        "",
        "searched (Optuna distributions):",
        _params_table(space),
        "",
        "netsep: the space and the settings are valid.",
    ]
    return "\n".join(lines)


def _baseline_text(baselines: list[dict[str, Any]]) -> str:
    if not baselines:
        return "none"
    pairings = ", ".join(str(b["pairing"]) for b in baselines)
    return f"{len(baselines)} `independent` pair(s), pairing {pairings}"


def _as_dict(config: Any) -> dict[str, Any]:
    """A TrialConfig's settings by name (whatever class implements it)."""
    for method in ("to_dict", "model_dump"):
        if callable(getattr(config, method, None)):
            return dict(getattr(config, method)())
    return dataclasses.asdict(config)


def _settings_table(config: Mapping[str, Any], space: SearchSpace, overrides: Mapping[str, Any]) -> str:
    rows = []
    for key, value in config.items():
        if key in _INTERNAL:
            continue
        if key in space.params:
            origin, value = "searched", "-"
        elif key in overrides:
            origin = "command line"
        elif key in space.fixed or key == "dataset":
            origin = "space"
        else:
            origin = "default"
        rows.append([key, param_text(value), origin])
    return text_table(["setting", "value", "from"], rows)


def _params_table(space: SearchSpace) -> str:
    rows = []
    for name, param in space.params.items():
        when = getattr(param, "when", None) or {}
        condition = "; ".join(f"{k} in {list(v)}" for k, v in when.items())
        rows.append([name, describe_distribution(param.distribution()), condition or "always"])
    return text_table(["param", "distribution", "sampled when"], rows)


def describe_distribution(distribution: Any) -> str:
    """An Optuna distribution in words: ``float in [0.001, 1] (log)``, ``one of mlp, siamese_pool``."""
    import optuna.distributions as od

    if isinstance(distribution, od.CategoricalDistribution):
        return "one of " + ", ".join(param_text(c) for c in distribution.choices)
    if isinstance(distribution, (od.FloatDistribution, od.IntDistribution)):
        kind = "int" if isinstance(distribution, od.IntDistribution) else "float"
        text = f"{kind} in [{param_text(distribution.low)}, {param_text(distribution.high)}]"
        if distribution.log:
            text += " (log)"
        if distribution.step is not None and not (kind == "int" and distribution.step == 1):
            text += f" step {param_text(distribution.step)}"
        return text
    return repr(distribution)
