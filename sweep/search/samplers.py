"""Optuna samplers by name: the one place that turns a space's ``sampler:`` into an object.

Every sampler is seeded, so two sweeps of the same space with the same ``seed``
propose the same configurations (as long as they see the same results).
"""

from __future__ import annotations

import warnings

import optuna

from sweep.spaces.model import SAMPLER_NAMES

__all__ = ["SAMPLER_NAMES", "SEED_RANGE", "create_sampler", "resumed_sampler"]

SEED_RANGE = 2**32  # NumPy (and so every Optuna sampler) takes seeds 0 .. 2**32 - 1


def create_sampler(
    name: str,
    seed: int,
    n_objectives: int,
    *,
    conditional: bool = False,
) -> optuna.samplers.BaseSampler:
    """Build the seeded Optuna sampler called ``name``.

    ``n_objectives`` decides TPE's mode: Optuna reports multivariate TPE to beat
    independent TPE on single-objective problems and uses independent TPE for
    several objectives, so we follow that. ``conditional`` (a space with ``when``
    params) turns on TPE's group decomposition, which models each sub-space that
    trials actually visited jointly instead of falling back to independent
    sampling for the conditional params; for GP it silences the per-trial warning
    that those params are sampled at random (GP cannot model a dynamic space).

    Constraints need no argument here: the searcher sets each trial's with
    ``Trial.set_constraint`` before it tells it, and TPE, NSGA-II and GP read them from
    the trials (Optuna 5), as ``Study.best_trials`` does.
    """
    if name not in SAMPLER_NAMES:
        raise ValueError(f"unknown sampler {name!r}; known: {', '.join(SAMPLER_NAMES)}")
    if n_objectives < 1:
        raise ValueError(f"`n_objectives >= 1` must hold, but got (n_objectives={n_objectives})")
    if name == "tpe":
        multivariate = n_objectives == 1
        group = multivariate and conditional
        with warnings.catch_warnings():
            # ``group`` is marked experimental since Optuna 2.8; we choose it on purpose.
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, multivariate=multivariate, group=group)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, warn_independent_sampling=not conditional)
    return optuna.samplers.RandomSampler(seed=seed)


def resumed_sampler(
    name: str,
    seed: int,
    n_objectives: int,
    conditional: bool,
    trials_so_far: int,
) -> optuna.samplers.BaseSampler:
    """The sampler a resumed sweep continues with: seeded ``(seed + trials_so_far) mod 2**32``.

    A sampler's random state is not saved with the sweep (it is not data), and the
    sampler saved with Tune's experiment is the fresh one of the start: reseeding it
    from the count of trials so far keeps a resumed sweep from proposing its first
    configurations again and makes it propose the same ones on every resume. The
    modulo keeps the seed in NumPy's range (a space may use any seed up to 2**32 - 1).
    """
    return create_sampler(name, (seed + trials_so_far) % SEED_RANGE, n_objectives, conditional=conditional)
