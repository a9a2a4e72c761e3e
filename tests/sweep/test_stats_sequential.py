"""The group-sequential rule: boundaries against published values and an independent calculation,
hand-checked decisions, and simulated error rates (fixed RNG seeds, Monte-Carlo tolerances).

Reference boundaries (two-sided alpha = 0.05, symmetric, Lan-DeMets spending, equally
spaced looks), as gsDesign (sfLDOF / sfLDPocock, test.type = 2), rpact (asOF / asP) and
ldbounds print them:

* O'Brien-Fleming type, 2 looks: 2.9626, 1.9686; 4 looks: 4.3326, 2.9631, 2.3590, 2.0141;
* Pocock type, 2 looks: 2.1570, 2.2010.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from sweep.stats.power import power_paired_t
from sweep.stats.sequential import (
    SequentialDesign,
    alpha_spent,
    decide,
    look_table,
    sequential_test,
    study_decision,
    z_boundaries,
)
from sweep.stats.sequential_simulation import naive_criticals, simulate

MARGIN = 0.0025  # 0.25 pp, fmnist_dose's registered smallest effect
SD = 0.003  # a paired sd of the size fmnist_dose measured (0.2-0.4 pp)
STUDIES = 20_000  # Monte-Carlo SE of a 5 % rate: 0.0015


@pytest.mark.parametrize(
    "fractions, spending, expected",
    [
        ([0.5, 1.0], "obrien-fleming", [2.9626, 1.9686]),
        ([0.25, 0.5, 0.75, 1.0], "obrien-fleming", [4.3326, 2.9631, 2.3590, 2.0141]),
        ([0.5, 1.0], "pocock", [2.1570, 2.2010]),
    ],
)
def test_boundaries_match_the_published_ones(fractions: list[float], spending: str, expected: list[float]) -> None:
    assert z_boundaries(fractions, 0.05, spending) == pytest.approx(expected, abs=1e-4)


def test_the_first_obrien_fleming_boundary_is_closed_form() -> None:
    # Each side spends 2 (1 - Phi(z_{1 - alpha/4} / sqrt(t))) of its alpha / 2: at t = 0.5,
    # z_{0.9875} / sqrt(0.5) = 2.2414 / 0.7071 = 3.1698 and 2 (1 - Phi(3.1698)) = 0.001525 per side.
    # Nothing comes before the first look, so c1 = Phi^-1(1 - 0.001525) = 2.9626.
    per_side = 2 * stats.norm.sf(stats.norm.isf(0.05 / 4) / math.sqrt(0.5))
    assert per_side == pytest.approx(0.001525, abs=1e-6)
    assert alpha_spent(0.5, 0.05, "obrien-fleming") == pytest.approx(2 * per_side)
    assert z_boundaries([0.5, 1.0], 0.05)[0] == pytest.approx(stats.norm.isf(per_side), abs=1e-9)


def test_spending_reaches_alpha_at_the_end_and_grows() -> None:
    for spending in ("obrien-fleming", "pocock"):
        ts = np.linspace(0.05, 1.0, 20)
        spent = [alpha_spent(t, 0.05, spending) for t in ts]
        assert spent[-1] == pytest.approx(0.05) and all(b > a for a, b in zip(spent, spent[1:]))
        assert alpha_spent(0.0, 0.05, spending) == 0.0


def test_boundaries_agree_with_scipys_multivariate_normal() -> None:
    """Unequal looks (3 of them): the crossing probabilities from the MVN CDF are the spent increments."""
    t = [0.3, 0.55, 1.0]
    c = z_boundaries(t, 0.05, "obrien-fleming")
    cov = [[math.sqrt(min(a, b) / max(a, b)) for b in t] for a in t]  # corr(Z_i, Z_j) = sqrt(t_i / t_j)
    rng = np.random.default_rng(0)

    def inside(k: int) -> float:
        """P(|Z_1| < c_1, ..., |Z_k| < c_k) by inclusion-exclusion over the corners."""
        mvn = stats.multivariate_normal(np.zeros(k), np.array(cov)[:k, :k], seed=rng, abseps=1e-7, releps=1e-7)
        total = 0.0
        for signs in np.ndindex(*(2,) * k):
            corner = [c[i] if s == 0 else -c[i] for i, s in enumerate(signs)]
            total += (-1) ** sum(signs) * mvn.cdf(corner)
        return total

    for k in range(1, 4):
        assert 1 - inside(k) == pytest.approx(alpha_spent(t[k - 1], 0.05, "obrien-fleming"), abs=2e-5)


def test_the_look_table_turns_each_nominal_level_into_a_t_critical_value() -> None:
    looks = look_table(SequentialDesign((8, 16), MARGIN))
    assert [lk.seeds for lk in looks] == [8, 16] and [lk.fraction for lk in looks] == [0.5, 1.0]
    first = looks[0]
    assert first.nominal == pytest.approx(2 * stats.norm.sf(2.9626), abs=1e-6)  # 0.00305
    assert first.t == pytest.approx(stats.t.isf(first.nominal / 2, df=7))  # 4.43 with 7 df
    assert looks[1].alpha_spent == pytest.approx(0.05)
    # Bonferroni over 6 arms: each comparison at 0.05 / 6.
    six = look_table(SequentialDesign((8, 16), MARGIN, comparisons=6))
    assert six[1].alpha_spent == pytest.approx(0.05 / 6) and six[0].z > looks[0].z


def test_decide_by_hand() -> None:
    # n = 4, critical 3: se = sd / 2.
    mean = np.array([0.004, -0.004, 0.0002, 0.0005, 0.001, 0.002])
    sd = np.array([0.002, 0.002, 0.0002, 0.002, 0.0, math.nan])
    # t = 4 (better), -4 (worse); t = 2 < 3 and 0.0002 -+ 3 * 0.0001 = [-0.0001, 0.0005] lies inside
    # +-0.0025 (equivalent);
    # 0.0005 -+ 0.003 reaches outside the margin (continue); no spread / no sd: continue.
    words = decide(mean, sd, 4, 3.0, MARGIN, final=False)
    assert [["better", "worse", "equivalent", "continue", "undecided"][w] for w in words] == [
        "better",
        "worse",
        "equivalent",
        "continue",
        "continue",
        "continue",
    ]
    assert decide(mean[3:4], sd[3:4], 4, 3.0, MARGIN, final=True).tolist() == [4]  # undecided at the end


def test_a_comparison_stops_at_its_first_decided_look() -> None:
    design = SequentialDesign((4, 8), MARGIN)
    clear = [0.01, 0.011, 0.009, 0.0105, 0.01, 0.01, 0.01, 0.01]  # t ~ 25 at 4 seeds
    decisions = sequential_test(clear, design)
    assert [d.decision for d in decisions] == ["better"] and decisions[0].seeds == 4
    assert decisions[0].low > 0 and decisions[0].critical == pytest.approx(look_table(design)[0].t)
    noisy = [0.004, -0.003, 0.002, -0.001, 0.0, 0.001, -0.002, 0.003]
    assert [d.decision for d in sequential_test(noisy[:4], design)] == ["continue"]  # look 2 not reached
    assert [d.decision for d in sequential_test(noisy, design)][-1] in ("undecided", "equivalent")


def test_failed_runs_shrink_a_look_and_a_look_without_new_seeds_spends_nothing() -> None:
    design = SequentialDesign((4, 8), MARGIN)
    d = [0.004, -0.003, math.nan, -0.001, math.nan, math.nan, math.nan, math.nan]
    first, last = sequential_test(d, design)
    assert first.seeds == 3 and first.decision == "continue"
    assert last.seeds == 3 and last.decision == "undecided" and math.isnan(last.critical)


def test_the_study_stops_when_every_comparison_is_decided() -> None:
    design = SequentialDesign((4, 8), MARGIN, comparisons=2)
    better = [0.01, 0.011, 0.009, 0.0105] * 2
    noisy = [0.004, -0.003, 0.002, -0.001, 0.0, 0.001, -0.002, 0.003]
    both = study_decision([better[:4], better[:4]], design)
    assert both.stopped_at == 1 and both.final == ["better", "better"] and both.looks_reached == 1
    one = study_decision([better[:4], noisy[:4]], design)
    assert one.stopped_at is None and one.final == ["better", "continue"]
    end = study_decision([better, noisy], design)
    assert end.stopped_at == 2 and end.final[0] == "better" and end.comparisons[0][-1].look == 1


# --- simulated studies: the numbers of docs/protocol.md section 11 -----------------------


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
def test_the_type_i_error_over_null_studies_stays_at_alpha(spending: str) -> None:
    design = SequentialDesign((8, 16), MARGIN, spending=spending)
    null = simulate(design, 0.0, SD, STUDIES, np.random.default_rng(2026))
    assert null.rejected <= 0.05 + 3 * null.monte_carlo_se, null
    assert null.rejected >= 0.05 - 6 * null.monte_carlo_se, null  # and spends most of it (not absurdly strict)


def test_naive_repeated_testing_inflates_the_type_i_error() -> None:
    """The check above can fail: testing at the fixed-sample level at both looks rejects ~8 % of nulls."""
    design = SequentialDesign((8, 16), MARGIN)
    naive = simulate(design, 0.0, SD, STUDIES, np.random.default_rng(2026), naive_criticals(design))
    assert naive.rejected > 0.05 + 3 * naive.monte_carlo_se, naive


def test_several_arms_keep_the_family_wise_error_at_alpha() -> None:
    design = SequentialDesign((8, 16), MARGIN, comparisons=6)
    null = simulate(design, 0.0, SD, STUDIES // 2, np.random.default_rng(7))
    assert null.any_rejected <= 0.05 + 3 * null.monte_carlo_se, null


def test_power_at_the_smallest_effect_is_close_to_the_fixed_design() -> None:
    # Fixed 16 seeds: 87.6 % power at effect 0.25 pp, sd 0.3 pp (noncentral t). O'Brien-Fleming
    # spends almost nothing at the interim look, so it keeps nearly all of it and saves seeds.
    design = SequentialDesign((8, 16), MARGIN)
    alt = simulate(design, MARGIN, SD, STUDIES, np.random.default_rng(11))
    fixed = power_paired_t(MARGIN, SD, 16)
    assert alt.better >= fixed - 0.02, (alt, fixed)
    assert alt.expected_seeds < 16 and alt.stopped_at[0] > 0.05


def test_equivalence_is_rarely_claimed_when_the_true_effect_is_the_margin() -> None:
    design = SequentialDesign((8, 16), MARGIN)
    for effect in (MARGIN, -MARGIN):
        at_margin = simulate(design, effect, SD, STUDIES, np.random.default_rng(5))
        se = math.sqrt(0.05 * 0.95 / STUDIES)
        assert at_margin.equivalent <= 0.05 + 3 * se, at_margin


def test_design_rejects_nonsense() -> None:
    for bad in [dict(looks=(1, 4)), dict(looks=(8, 8)), dict(spending="linear"), dict(margin=0.0)]:
        with pytest.raises(ValueError):
            SequentialDesign(**{"looks": (4, 8), "margin": MARGIN, **bad})  # type: ignore[arg-type]


def test_the_docs_table_script_prints_every_row(capsys: pytest.CaptureFixture[str]) -> None:
    from scripts.sequential_operating import DESIGNS, main

    assert main(["--studies", "2000"]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith(tuple(d[0] for d in DESIGNS))]
    assert len(rows) == 3 * (len(DESIGNS) - 1) + 1  # three true effects a design; the naive rule under the null
    assert "fixed design, 16 seeds, paired t: power at the margin 0.8757" in out
