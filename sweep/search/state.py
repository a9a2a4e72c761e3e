"""An Optuna study as JSON data, and back: the searcher's state without pickle.

Tune saves a searcher's state next to its experiment and ``--resume`` reads it back.
A pickle there would run whatever code the file holds, so netsep writes the study as
data: every trial's number, state, params with Optuna's own JSON form of their
distributions (``optuna.distributions.distribution_to_json``), values and
intermediate values. ``rebuild_study`` replays that into a fresh study in the same
order, so trial numbers are kept: finished trials with ``Study.add_trial``, trials
that were still running with ``enqueue_trial`` + ``ask`` + the same suggestions, so
they are live ``optuna.Trial`` objects again that a later result can be told to.

Pure Optuna; no Ray.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    distribution_to_json,
    json_to_distribution,
)
from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "check_format",
    "read_state_file",
    "rebuild_study",
    "trials_to_json",
    "write_state_file",
]


def _number(value: Any) -> Any:
    """JSON has no NaN or infinity: keep them as strings Python's float() reads back."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return value


def _trial_to_json(trial: FrozenTrial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "state": trial.state.name,
        "params": dict(trial.params),
        "distributions": {k: json.loads(distribution_to_json(d)) for k, d in trial.distributions.items()},
        "values": None if trial.values is None else [_number(v) for v in trial.values],
        "intermediate": {str(step): _number(v) for step, v in trial.intermediate_values.items()},
        "user_attrs": dict(trial.user_attrs),
        "constraints": dict(trial.constraints),  # Trial.set_constraint's values, by name
    }


def trials_to_json(study: optuna.Study) -> list[dict[str, Any]]:
    """Every trial of ``study`` as plain data (numbers, strings, lists, dicts)."""
    return [_trial_to_json(t) for t in study.get_trials(deepcopy=False)]


def _suggest(trial: optuna.Trial, name: str, distribution: BaseDistribution) -> None:
    if isinstance(distribution, FloatDistribution):
        trial.suggest_float(name, distribution.low, distribution.high, log=distribution.log, step=distribution.step)
    elif isinstance(distribution, IntDistribution):
        trial.suggest_int(name, distribution.low, distribution.high, log=distribution.log, step=distribution.step)
    elif isinstance(distribution, CategoricalDistribution):
        trial.suggest_categorical(name, distribution.choices)
    else:
        raise TypeError(f"unsupported distribution {distribution!r} for {name!r}")


def _distribution(raw: Any) -> BaseDistribution:
    """Optuna's JSON form of a distribution, nested as an object (or as the string itself)."""
    return json_to_distribution(raw if isinstance(raw, str) else json.dumps(raw))


def _floats(values: Any) -> Any:
    return None if values is None else [float(v) for v in values]


def rebuild_study(study: optuna.Study, trials: list[Mapping[str, Any]]) -> dict[int, optuna.Trial]:
    """Replay ``trials`` (from ``trials_to_json``) into the empty ``study``.

    Returns the live ``optuna.Trial`` of every trial that was still running, by number.
    ``ValueError`` when the data does not describe a study (a damaged state file).
    """
    if study.get_trials(deepcopy=False):
        raise ValueError("rebuild_study needs an empty study")
    live: dict[int, optuna.Trial] = {}
    for expected, raw in enumerate(sorted(trials, key=lambda t: int(t["number"]))):
        if int(raw["number"]) != expected:
            raise ValueError(f"trial numbers are not 0..n-1 (got {raw['number']} at position {expected})")
        state = TrialState[str(raw["state"])]
        distributions = {str(k): _distribution(v) for k, v in dict(raw["distributions"]).items()}
        intermediate = {int(step): float(v) for step, v in dict(raw.get("intermediate", {})).items()}
        if state.is_finished():
            study.add_trial(
                optuna.trial.create_trial(
                    state=state,
                    values=_floats(raw["values"]) if state == TrialState.COMPLETE else None,
                    params=dict(raw["params"]),
                    distributions=distributions,
                    intermediate_values=intermediate,
                    user_attrs=dict(raw.get("user_attrs", {})),
                    constraints={str(k): float(v) for k, v in dict(raw.get("constraints", {})).items()},
                )
            )
            continue
        study.enqueue_trial(dict(raw["params"]), skip_if_exists=False)
        trial = study.ask()
        for name, distribution in distributions.items():
            _suggest(trial, name, distribution)
        for step, value in intermediate.items():
            trial.report(value, step)
        for key, value in dict(raw.get("user_attrs", {})).items():
            trial.set_user_attr(key, value)
        live[trial.number] = trial
    return live


# ------------------------------------------------------------------ state files
def write_state_file(path: str | Path, state: dict[str, Any]) -> None:
    # Tune writes to a temporary name and renames it, so a failed write keeps the last state.
    Path(path).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def read_state_file(path: str | Path) -> dict[str, Any]:
    """A searcher's state file: JSON data only (a pickle or anything else is refused, never run)."""
    try:
        state = json.loads(Path(path).read_text())
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ValueError(f"{path}: not a netsep searcher state (expected JSON: {error!r})") from None
    if not isinstance(state, dict):
        # ValueError, not TypeError: a damaged file, like the JSON error above.
        raise ValueError(f"{path}: not a netsep searcher state (expected a JSON object)")  # noqa: TRY004
    return state


def check_format(state: Mapping[str, Any], searcher: str, version: int) -> None:
    """ValueError unless ``state`` is ``searcher``'s own, of format ``version``."""
    if state.get("format") != version or state.get("searcher") != searcher:
        raise ValueError(
            f"not a {searcher} state of format {version} "
            f"(got format {state.get('format')!r}, searcher {state.get('searcher')!r})"
        )
