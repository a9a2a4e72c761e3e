"""Optuna samplers by name (``sweep.search.samplers``)."""

from __future__ import annotations

import warnings

import optuna
import pytest

from sweep.search.samplers import SAMPLER_NAMES, create_sampler


def test_every_name_builds_its_sampler():
    kinds = {
        "tpe": optuna.samplers.TPESampler,
        "nsga2": optuna.samplers.NSGAIISampler,
        "gp": optuna.samplers.GPSampler,
        "random": optuna.samplers.RandomSampler,
    }
    assert set(kinds) == set(SAMPLER_NAMES)
    for name, kind in kinds.items():
        assert type(create_sampler(name, 0, 2)) is kind


@pytest.mark.parametrize(
    "args, match",
    [
        (("cmaes", 0, 1), "unknown sampler 'cmaes'; known: tpe, nsga2, gp, random"),
        (("tpe", 0, 0), "n_objectives >= 1"),
    ],
)
def test_bad_arguments_raise(args, match):
    with pytest.raises(ValueError, match=match):
        create_sampler(*args)


def test_conditional_tpe_is_built_without_optuna_s_experimental_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        create_sampler("tpe", 0, 1, conditional=True)
