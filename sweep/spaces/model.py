"""The typed pieces of a search space: params (one per Optuna distribution), objectives, the space.

Each param is a frozen pydantic model that validates its own YAML mapping: a
discriminated union on ``type`` picks float / int / categorical, unknown keys are
refused, and the rules Optuna's distributions impose are checked with netsep's
wording (then Optuna's own ``FloatDistribution`` / ``IntDistribution`` /
``CategoricalDistribution`` are built, so anything Optuna would refuse is refused
here too). Bounds are inclusive. What a param means for a trial (is it a
TrialConfig key, are its ``when`` params earlier, do its corners give valid
configs) is checked in ``sweep.spaces.rules`` and ``sweep.spaces.corners``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import optuna
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from sweep.spaces.replication import Constraint, Replicates
from trainable.metric_names import (
    METRICS,
    OBJECTIVE_METRICS,
    Direction,
    direction_of,
    optuna_direction,
)
from trainable.problems import Problems, describe, did_you_mean

__all__ = [
    "SAMPLER_NAMES",
    "MAX_CHOICES",
    "PARAM",
    "CategoricalParam",
    "Choice",
    "FloatParam",
    "IntParam",
    "Objective",
    "Param",
    "SearchSpace",
    "condition_holds",
]

# What Optuna accepts as a categorical choice.
Choice = None | bool | int | float | str

# Choices per categorical param. A sampler learns nothing from a handful of trials
# spread over more; and the space check tries each one (sweep.spaces.corners bounds that work).
MAX_CHOICES = 1_000
# Int bounds: Optuna stores every param value as a float (its RDB storage), which
# holds integers exactly only up to 2**53.
_INT_LIMIT = 2**53


def _is_choice(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"expected a string, number, boolean or null, got {describe(value)}")


def _exact_in_optuna(value: int) -> int:
    if abs(value) > _INT_LIMIT:
        raise ValueError(
            f"must be within +-2**53 (Optuna stores param values as floats, exact up to 2**53), got {describe(value)}"
        )
    return value


_Choice = Annotated[Any, AfterValidator(_is_choice)]
_Float = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Int = Annotated[int, Field(strict=True), AfterValidator(_exact_in_optuna)]
# ``when: {earlier_param: [allowed values]}``; given, it names at least one param and value.
_When = Annotated[
    dict[str, Annotated[tuple[_Choice, ...], Field(min_length=1, max_length=MAX_CHOICES)]], Field(min_length=1)
]


class _Param(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str  # the TrialConfig key it sets; the loader fills it from the key under `params:`
    when: _When = Field(default_factory=dict)

    def _check_distribution(self) -> None:
        """Build Optuna's distribution, so what Optuna refuses is refused here, in our words."""
        try:
            self.distribution()  # type: ignore[attr-defined]
        except (ValueError, OverflowError) as error:
            raise Problems([((), f"Optuna refuses this distribution: {error}")]) from None


class _RangeParam(_Param):
    """A float or int range: Optuna's distribution is its class with ``(low, high, log, step)``."""

    _DISTRIBUTION: ClassVar[type[optuna.distributions.BaseDistribution]]
    log: bool = Field(False, strict=True)

    def distribution(self) -> optuna.distributions.BaseDistribution:
        """The distribution ``suggest`` samples from (to rebuild a study from finished trials)."""
        return self._DISTRIBUTION(self.low, self.high, log=self.log, step=self.step)  # type: ignore[attr-defined,call-arg]

    @model_validator(mode="after")
    def _range_rules(self) -> _RangeParam:
        # An int's `step` given explicitly (even 1) together with `log` is what Optuna refuses;
        # its default 1 is no step at all.
        is_int = isinstance(self, IntParam)
        step = self.step if not is_int or "step" in self.model_fields_set else None  # type: ignore[attr-defined]
        _check_range(self.low, self.high, self.log, step, is_int=is_int)  # type: ignore[attr-defined]
        self._check_distribution()
        return self


class FloatParam(_RangeParam):
    """``trial.suggest_float(name, low, high, log=log, step=step)``; bounds inclusive."""

    _DISTRIBUTION = optuna.distributions.FloatDistribution
    type: Literal["float"] = "float"
    low: _Float
    high: _Float
    step: _Float | None = Field(None, gt=0)

    def suggest(self, trial: optuna.trial.BaseTrial) -> float:
        return trial.suggest_float(self.name, self.low, self.high, log=self.log, step=self.step)


class IntParam(_RangeParam):
    """``trial.suggest_int(name, low, high, step=step, log=log)``; bounds inclusive."""

    _DISTRIBUTION = optuna.distributions.IntDistribution
    type: Literal["int"] = "int"
    low: _Int
    high: _Int
    step: _Int = Field(1, gt=0)

    def suggest(self, trial: optuna.trial.BaseTrial) -> int:
        return trial.suggest_int(self.name, self.low, self.high, step=self.step, log=self.log)


class CategoricalParam(_Param):
    """``trial.suggest_categorical(name, choices)``."""

    type: Literal["categorical"] = "categorical"
    choices: Annotated[tuple[_Choice, ...], Field(min_length=1, max_length=MAX_CHOICES)]

    def suggest(self, trial: optuna.trial.BaseTrial) -> Choice:
        return trial.suggest_categorical(self.name, self.choices)

    def distribution(self) -> optuna.distributions.CategoricalDistribution:
        """The distribution ``suggest`` samples from (to rebuild a study from finished trials)."""
        return optuna.distributions.CategoricalDistribution(self.choices)

    @field_validator("choices")
    @classmethod
    def _no_duplicates(cls, choices: tuple[Choice, ...]) -> tuple[Choice, ...]:
        # Optuna finds a choice by equality, so 1, 1.0 and True are one choice to it;
        # a dict compares keys the same way, in linear time.
        first: dict[Any, int] = {}
        problems = []
        for i, choice in enumerate(choices):
            if choice in first:
                j = first[choice]
                problems.append(((i,), f"duplicate choice {choice!r} (equal to choices[{j}] = {choices[j]!r})"))
            else:
                first[choice] = i
        if problems:
            raise Problems(problems)
        return choices


Param = FloatParam | IntParam | CategoricalParam
# Validates one param's mapping (with its `name` filled in), picking the class by `type`.
PARAM: TypeAdapter[Param] = TypeAdapter(Annotated[Param, Field(discriminator="type")])


def _check_range(low: float, high: float, log: bool, step: float | None, *, is_int: bool) -> None:
    """The rules of a numeric range, worded as Optuna words its own; ``Problems`` at the param."""
    rule = None
    if not low < high:
        rule = f"`low < high` must hold, but got (low={low!r}, high={high!r})"
    elif step is not None and log:
        rule = f"`step` and `log` cannot be used together, but got (step={step!r}, log=True)"
    elif log and is_int and low < 1:
        rule = f"`low >= 1` must hold for a log-scaled int, but got (low={low!r})"
    elif log and low <= 0:
        rule = f"`low > 0` must hold for a log-scaled float, but got (low={low!r})"
    elif step is not None and not _divides(step, high - low):
        # Optuna would silently move `high` to the last reachable value; say so instead.
        rule = f"`high - low` must be a multiple of `step`, but got (low={low!r}, high={high!r}, step={step!r})"
    if rule:
        raise Problems([((), rule)])


def _divides(step: float, span: float) -> bool:
    if isinstance(step, int) and isinstance(span, int):
        return span % step == 0
    ratio = span / step
    if not math.isfinite(ratio):  # a span near the float limit: no step grid fits it
        return False
    return abs(ratio - round(ratio)) <= 1e-8 * max(1.0, abs(ratio))


def condition_holds(param: Param, values: Mapping[str, Any]) -> bool:
    """True when every ``when`` of ``param`` is met by the values sampled so far."""
    return all(name in values and values[name] in allowed for name, allowed in param.when.items())


# ------------------------------------------------------------------------ objectives
class Objective(BaseModel):
    """One metric the sweep optimizes; ``direction`` is the one metric_names defines."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    metric: str = Field(strict=True)
    direction: Direction

    @property
    def optuna_direction(self) -> str:
        return optuna_direction(self.metric)

    @field_validator("metric")
    @classmethod
    def _an_objective_metric(cls, metric: str) -> str:
        known = ", ".join(OBJECTIVE_METRICS)
        if metric not in METRICS:
            raise ValueError(
                f"unknown metric {metric!r}{did_you_mean(metric, OBJECTIVE_METRICS)} (known objective metrics: {known})"
            )
        if metric not in OBJECTIVE_METRICS:
            raise ValueError(
                f"metric {metric!r} is a diagnostic and cannot be an objective (objective metrics: {known})"
            )
        return metric

    @field_validator("direction")
    @classmethod
    def _the_defined_direction(cls, direction: Direction, info: Any) -> Direction:
        metric = info.data.get("metric")
        # Directions are defined once (trainable/metric_names.py); a space cannot
        # flip one, so a mismatch is a misunderstanding worth stopping on.
        if metric is not None and direction != direction_of(metric):
            raise ValueError(
                f"`direction` must be the one defined for {metric!r} (trainable/metric_names.py), "
                f"{direction_of(metric)!r}, but got {direction!r}"
            )
        return direction


# name -> what it is good at (shown in error messages and docs).
SAMPLER_NAMES: dict[str, str] = {
    "tpe": "Tree-structured Parzen Estimator: the default, handles conditional spaces",
    "nsga2": "NSGA-II genetic search: multi-objective, needs many trials (population 50)",
    "gp": "Gaussian-process Bayesian optimization: few, continuous parameters",
    "random": "uniform random search: the reference every sampler should beat",
}


# ------------------------------------------------------------------------- the space
class SearchSpace(BaseModel):
    """A validated search space. Build it with ``load_space``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str
    source: Path
    dataset: str  # the default dataset; the command line may override it
    trials: int
    sampler: str
    seed: int  # the sampler's seed (a trial's own seed is the TrialConfig key ``seed``)
    baseline: bool  # also run the `independent` baseline with the same fixed settings
    objectives: tuple[Objective, ...]
    fixed: dict[str, Any]
    params: dict[str, Param]
    # Seeds per configuration (sweep.spaces.replication); K = 1 unless the space says more.
    replicates: Replicates = Replicates(min=1, max=1)
    constraints: tuple[Constraint, ...] = ()  # bounds a configuration's means must keep
    start_with: tuple[dict[str, Any], ...] = ()  # configurations that run first (checked against params)

    def sample(self, trial: optuna.trial.BaseTrial) -> dict[str, Any]:
        """Suggest every param whose ``when`` holds, in declaration order; params only.

        A ``when`` always names an earlier param, so its value is known by the time
        the conditional param comes up; a param whose condition does not hold is not
        suggested at all (it keeps TrialConfig's default), which keeps it out of the
        sampler's model for that trial.
        """
        values: dict[str, Any] = {}
        for name, param in self.params.items():
            if condition_holds(param, values):
                values[name] = param.suggest(trial)
        return values

    def base_config(self, dataset: str | None = None) -> dict[str, Any]:
        """The settings every trial shares: the dataset (or ``dataset``) plus ``fixed``."""
        return {"dataset": self.dataset if dataset is None else dataset, **self.fixed}

    @property
    def is_conditional(self) -> bool:
        """True when some param has a ``when`` (a dynamic, define-by-run space)."""
        return any(p.when for p in self.params.values())

    def metric_names(self) -> list[str]:
        return [o.metric for o in self.objectives]

    def searched_objectives(self) -> list[str] | None:
        """The training objectives the space searches (its ``objective`` param's choices); None when fixed."""
        param = self.params.get("objective")
        choices = getattr(param, "choices", None)
        return [str(c) for c in choices] if choices is not None else None

    def searched_pairings(self) -> list[str | None] | None:
        """The pairings the space searches (its ``pairing`` param's choices; a null choice is the objective's own); None when fixed."""
        param = self.params.get("pairing")
        choices = getattr(param, "choices", None)
        return [None if c is None else str(c) for c in choices] if choices is not None else None

    def optuna_directions(self) -> list[str]:
        return [o.optuna_direction for o in self.objectives]

    def tune_modes(self) -> list[str]:
        return [o.direction for o in self.objectives]
