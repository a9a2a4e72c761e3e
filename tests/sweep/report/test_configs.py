"""Configurations over seeds, paired with the baseline by seed, and the claims: hand-computed cases."""

from __future__ import annotations

import math
import statistics
from dataclasses import replace
from typing import Any

import pytest
from scipy import stats

from sweep.report.configs import claims, group_baselines, group_configs, pair_with_baselines
from sweep.report.records import TrialRecord
from sweep.spaces.replication import Constraint
from trainable.metric_names import METRICS

OBJECTIVES = ["ensemble_acc", "excess_agreement"]
DIRECTIONS = ["max", "min"]


def trial(
    tid: str,
    *,
    seed: int,
    acc: float,
    excess: float = 0.05,
    config_id: int | None = None,
    baseline: bool = False,
    status: str = "complete",
    disc: float = 0.8,
    pairing: str = "shared",
) -> TrialRecord:
    config: dict[str, Any] = {"objective": "independent" if baseline else "dice", "seed": seed, "pairing": pairing}
    if config_id is not None:
        config |= {"config_id": config_id, "replicate": seed, "w_adv": 0.1 * (config_id + 1)}
    metrics = {m: None for m in METRICS} | {"ensemble_acc": acc, "excess_agreement": excess, "disc_acc": disc}
    return TrialRecord(
        trial_id=tid,
        arm="baseline" if baseline else "search",
        status=status,  # type: ignore[arg-type]
        reason="" if status == "complete" else "it raised",
        epochs=3,
        max_epochs=3,
        config=config,
        params={} if baseline else {"w_adv": config.get("w_adv")},
        metrics=metrics,
        history=(),
        checkpoint="",
        started=None,
        ended=None,
    )


BASE = [trial(f"b{s}", seed=s, acc=a, baseline=True) for s, a in enumerate([0.80, 0.82, 0.81])]


def test_replicates_group_into_one_configuration_with_mean_and_sd():
    search = [trial(f"t{s}", seed=s, acc=a, config_id=4) for s, a in enumerate([0.85, 0.86, 0.90])]
    (config,) = group_configs(search)
    assert (config.config_id, config.number, config.n, config.status) == ("c4", 4, 3, "complete")
    assert config.value("ensemble_acc") == pytest.approx(statistics.fmean([0.85, 0.86, 0.90]))
    assert config.sds["ensemble_acc"] == pytest.approx(statistics.stdev([0.85, 0.86, 0.90]))
    assert config.seeds == [0, 1, 2] and "seed" not in config.config and "config_id" not in config.config


def test_a_failed_seed_makes_the_configuration_an_error_named_by_its_seed():
    search = [trial("t0", seed=0, acc=0.9, config_id=1), trial("t1", seed=1, acc=0.9, config_id=1, status="error")]
    (config,) = group_configs(search)
    assert config.status == "error" and config.n == 1 and "seed 1: it raised" in config.reason


def test_a_killed_driver_s_unrecorded_trial_does_not_join_the_configuration_that_took_its_number():
    # The killed driver started c2 (w_adv 0.3) after its last saved state; the resumed search
    # gave number 2 to another configuration. The leftover is its own row, not a replicate.
    leftover = replace(trial("old", seed=0, acc=0.5, config_id=2, status="interrupted"), params={"w_adv": 0.9})
    reissued = trial("new", seed=0, acc=0.9, config_id=2)
    configs = group_configs([leftover, reissued])
    assert [(c.config_id, c.number, c.status, c.n) for c in configs] == [
        ("c2", 2, "complete", 1),
        ("old", None, "interrupted", 0),
    ]
    assert configs[0].params == {"w_adv": 0.30000000000000004}


def test_a_trial_of_an_older_netsep_is_a_configuration_of_one_seed():
    (config,) = group_configs([trial("a0000001", seed=0, acc=0.9)])
    assert (config.config_id, config.n, config.number) == (
        "a0000001",
        1,
        0,
    )  # an older trial: its position, its Optuna trial number


def test_a_missing_value_on_one_seed_is_not_averaged_away():
    search = [trial("t0", seed=0, acc=0.9, config_id=0), trial("t1", seed=1, acc=math.nan, config_id=0)]
    (config,) = group_configs(search)
    assert math.isnan(config.value("ensemble_acc")) and config.objective_values(OBJECTIVES) is None


def test_inert_adversaries_and_broken_constraints_are_named():
    search = [trial(f"t{s}", seed=s, acc=0.6, config_id=0, disc=d) for s, d in enumerate([0.52, 0.56])]
    (config,) = group_configs(search, [Constraint(metric="ensemble_acc", min=0.7)])
    assert config.inert_adversary and not config.feasible
    assert len(config.broken) == 2 and config.broken[1].startswith("ensemble_acc >= 0.7")


def test_the_paired_difference_is_over_the_seeds_both_ran():
    # Differences by seed: 0.85-0.80, 0.86-0.82, 0.90-0.81 = 0.05, 0.04, 0.09 (seed 3 has no baseline).
    search = [trial(f"t{s}", seed=s, acc=a, config_id=0) for s, a in enumerate([0.85, 0.86, 0.90, 0.99])]
    (config,) = pair_with_baselines(group_configs(search), group_baselines(BASE), OBJECTIVES)
    d = config.paired["ensemble_acc"]
    diffs = [0.05, 0.04, 0.09]
    half = stats.t.ppf(0.975, 2) * statistics.stdev(diffs) / math.sqrt(3)
    assert d.n == 3 and d.mean == pytest.approx(statistics.fmean(diffs))
    assert (d.low, d.high) == (pytest.approx(d.mean - half), pytest.approx(d.mean + half))
    assert d.p == pytest.approx(stats.ttest_rel([0.85, 0.86, 0.90], [0.80, 0.82, 0.81]).pvalue)
    assert config.baseline == "baseline"


def test_each_configuration_meets_the_baseline_that_shares_batches_as_it_does():
    base = [*BASE, *(trial(f"s{s}", seed=s, acc=0.7, baseline=True, pairing="split") for s in range(3))]
    groups = group_baselines(base)
    assert [g.label for g in groups] == ["baseline-shared", "baseline-split"]
    search = [trial(f"t{s}", seed=s, acc=0.8, config_id=0, pairing="split") for s in range(3)]
    (config,) = pair_with_baselines(group_configs(search), groups, OBJECTIVES)
    assert config.baseline == "baseline-split" and config.paired["ensemble_acc"].mean == pytest.approx(0.1)


def _configs(*accs: list[float], excess: float = 0.05) -> list[Any]:
    search = [
        trial(f"t{i}{s}", seed=s, acc=a, excess=excess, config_id=i)
        for i, seeds in enumerate(accs)
        for s, a in enumerate(seeds)
    ]
    return pair_with_baselines(group_configs(search), group_baselines(BASE), OBJECTIVES)


def test_a_claim_needs_every_objective_beyond_noise_after_holm():
    # Config 0: about +0.10 on accuracy, but excess agreement within noise of the baseline's: no claim.
    # Config 1: about +0.10, and excess agreement lower on every seed: claimed.
    accs = [0.80, 0.82, 0.81]
    groups = group_baselines(
        [trial(f"b{s}", seed=s, acc=a, excess=0.05 + 0.001 * s, baseline=True) for s, a in enumerate(accs)]
    )
    search = [
        trial(f"a{s}", seed=s, acc=a + g, excess=0.05 + 0.001 * s + e, config_id=0)
        for s, (a, g, e) in enumerate(zip(accs, [0.10, 0.11, 0.09], [0.002, -0.003, 0.001]))
    ]
    search += [
        trial(f"c{s}", seed=s, acc=a + g, excess=0.01 + 0.0002 * s, config_id=1)
        for s, (a, g) in enumerate(zip(accs, [0.10, 0.102, 0.099]))
    ]
    compared = claims(pair_with_baselines(group_configs(search), groups, OBJECTIVES), OBJECTIVES, DIRECTIONS)
    assert [c.beats_baseline for c in compared] == [False, True]
    for m in OBJECTIVES:  # Holm over the two compared: the smaller p doubled, the larger kept (never below it)
        p = [c.paired[m].p for c in compared]
        low, high = sorted(range(2), key=lambda i: p[i])
        adjusted = [c.paired[m].p_holm for c in compared]
        assert adjusted[low] == pytest.approx(min(1.0, 2 * p[low]))
        assert adjusted[high] == pytest.approx(max(adjusted[low], p[high]))


def test_one_seed_never_claims_however_large_the_difference():
    compared = claims(_configs([0.99]), OBJECTIVES, DIRECTIONS)
    assert compared[0].beats_baseline is False
    assert math.isnan(compared[0].paired["ensemble_acc"].low)


def test_a_gain_on_the_wrong_side_is_not_a_claim():
    worse = claims(_configs([0.70, 0.71, 0.72], excess=0.0), OBJECTIVES, DIRECTIONS)
    assert worse[0].beats_baseline is False and worse[0].paired["ensemble_acc"].mean < 0


def test_configurations_without_a_baseline_are_not_compared():
    (config,) = group_configs([trial("t0", seed=0, acc=0.9, config_id=0)])
    (compared,) = claims([replace(config)], OBJECTIVES, DIRECTIONS)
    assert compared.beats_baseline is None
