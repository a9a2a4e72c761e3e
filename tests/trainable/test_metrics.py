"""Tests for trainable/metrics.py: hand-computed cases (arithmetic in the comments)
and the invariances each metric must have."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from trainable.metric_names import METRICS
from trainable.metrics import (
    NLL_PROB_FLOOR,
    PAIR_METRIC_NAMES,
    disagreement,
    double_fault,
    ensemble_accuracy,
    ensemble_nll,
    excess_agreement,
    expected_calibration_error,
    linear_cka,
    pair_metrics,
    poisson_binomial,
    q_statistic,
    tp_agreement,
    tp_agreement_histogram,
)

T, F = True, False


def bools(*values: bool) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.bool)


# Two members, three examples, two classes; used by several tests.
#   member 1: [.9 .1] [.4 .6] [.3 .7] -> argmax 0 1 1
#   member 2: [.6 .4] [.8 .2] [.4 .6] -> argmax 0 0 1
#   mean:     [.75 .25] [.6 .4] [.35 .65] -> argmax 0 0 1
#   labels:    0 1 1
PROBS_2x3 = torch.tensor(
    [
        [[0.9, 0.1], [0.4, 0.6], [0.3, 0.7]],
        [[0.6, 0.4], [0.8, 0.2], [0.4, 0.6]],
    ]
)
LABELS_3 = torch.tensor([0, 1, 1])


# ------------------------------------------------------------ TP-agreement
def test_tp_agreement_hand_case() -> None:
    # Columns (examples) have 3, 1, 1, 0 of the 3 models right.
    correct = torch.tensor([[T, T, F, F], [T, F, T, F], [T, F, F, F]])
    expected = torch.tensor([3 / 3, 1 / 3, 1 / 3, 0.0], dtype=torch.float64)
    assert torch.allclose(tp_agreement(correct), expected)


def test_tp_agreement_histogram_hand_case() -> None:
    correct = torch.tensor([[T, T, F, F], [T, F, T, F], [T, F, F, F]])
    observed, expected = tp_agreement_histogram(correct)
    # Models right per example: 3, 1, 1, 0 -> k=0: 1/4, k=1: 2/4, k=2: 0, k=3: 1/4.
    assert torch.allclose(observed, torch.tensor([0.25, 0.5, 0.0, 0.25], dtype=torch.float64))
    # Accuracies p = (2/4, 2/4, 1/4), so q = (.5, .5, .75):
    #   P0 = .5*.5*.75                                   = .1875
    #   P1 = .5*.5*.75 + .5*.5*.75 + .5*.5*.25           = .4375
    #   P2 = .5*.5*.75 (1,2) + .5*.5*.25 (1,3) + (2,3) .0625 = .3125
    #   P3 = .5*.5*.25                                   = .0625
    assert torch.allclose(expected, torch.tensor([0.1875, 0.4375, 0.3125, 0.0625], dtype=torch.float64))
    assert observed.sum().item() == pytest.approx(1.0)
    assert expected.sum().item() == pytest.approx(1.0)


def test_tp_histogram_matches_expected_on_product_design() -> None:
    # Two models, each of the 4 (c1, c2) combinations equally often: the columns are
    # exactly independent with p1 = p2 = 1/2, so observed = expected = (1/4, 1/2, 1/4).
    combos = torch.tensor(list(itertools.product([F, T], repeat=2))).T  # [2, 4]
    correct = combos.repeat(1, 25)  # [2, 100]
    observed, expected = tp_agreement_histogram(correct)
    assert torch.allclose(observed, expected)
    assert torch.allclose(expected, torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64))


def test_tp_histogram_product_design_three_unequal_models() -> None:
    # Full factorial over 3 models where model k is right on a share (1/2, 1/4, 3/4)
    # of its levels: each combination of levels occurs once, so the correctness
    # columns are exactly independent and observed must equal the Poisson-binomial.
    levels = [[T, F], [T, F, F, F], [T, T, T, F]]
    rows = list(itertools.product(*levels))  # 2*4*4 = 32 examples
    correct = torch.tensor(rows).T  # [3, 32]
    observed, expected = tp_agreement_histogram(correct)
    assert torch.allclose(observed, expected)
    assert observed.sum().item() == pytest.approx(1.0)


def test_tp_histogram_sums_to_one_on_random_data() -> None:
    gen = torch.Generator().manual_seed(0)
    correct = torch.rand(5, 300, generator=gen) < 0.7
    observed, expected = tp_agreement_histogram(correct)
    assert observed.shape == expected.shape == (6,)
    assert observed.sum().item() == pytest.approx(1.0)
    assert expected.sum().item() == pytest.approx(1.0)
    assert bool((expected >= 0).all())


def test_poisson_binomial_brute_force_m3() -> None:
    p = torch.tensor([0.2, 0.5, 0.9], dtype=torch.float64)
    brute = torch.zeros(4, dtype=torch.float64)
    for outcome in itertools.product([0, 1], repeat=3):
        prob = 1.0
        for pk, ok in zip(p.tolist(), outcome):
            prob *= pk if ok else 1 - pk
        brute[sum(outcome)] += prob
    # e.g. P0 = .8*.5*.1 = .04, P3 = .2*.5*.9 = .09
    assert brute[0].item() == pytest.approx(0.04)
    assert brute[3].item() == pytest.approx(0.09)
    assert torch.allclose(poisson_binomial(p), brute)


def test_poisson_binomial_small_cases() -> None:
    # Two fair coins: (1/4, 1/2, 1/4). No trials: zero successes for sure.
    assert torch.allclose(
        poisson_binomial(torch.tensor([0.5, 0.5])), torch.tensor([0.25, 0.5, 0.25], dtype=torch.float64)
    )
    assert torch.equal(poisson_binomial(torch.tensor([])), torch.tensor([1.0], dtype=torch.float64))
    # Certain outcomes: one sure success, one sure failure -> exactly one.
    assert torch.equal(poisson_binomial(torch.tensor([1.0, 0.0])), torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64))


def test_poisson_binomial_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        poisson_binomial(torch.tensor([0.5, 1.2]))
    with pytest.raises(ValueError, match="shape"):
        poisson_binomial(torch.rand(2, 2))


def test_tp_agreement_rejects_non_bool() -> None:
    with pytest.raises(TypeError, match="bool"):
        tp_agreement(torch.ones(2, 3, dtype=torch.int64))
    with pytest.raises(ValueError, match=r"\[M, N\]"):
        tp_agreement_histogram(torch.ones(3, dtype=torch.bool))


# ----------------------------------------------------------- pair diversity
def test_disagreement_hand_case() -> None:
    # Predictions differ on examples 2 and 3 of 4 -> 2/4.
    assert disagreement(torch.tensor([0, 1, 2, 3]), torch.tensor([0, 1, 0, 0])) == 0.5
    with pytest.raises(ValueError, match="same shape"):
        disagreement(torch.tensor([0, 1]), torch.tensor([0, 1, 2]))


def test_double_fault_and_excess_agreement_hand_case() -> None:
    a = bools(T, T, F, F, F)
    b = bools(T, F, T, F, F)
    # Both wrong on examples 3 and 4 -> 2/5.
    assert double_fault(a, b) == pytest.approx(0.4)
    # Both right 1/5 = .2; p_a = p_b = 2/5 -> .2 - .16 = .04.
    assert excess_agreement(a, b) == pytest.approx(0.04)


def test_excess_agreement_zero_on_product_design() -> None:
    # All 4 combinations once: both right 1/4 = (1/2)*(1/2).
    a = bools(F, F, T, T)
    b = bools(F, T, F, T)
    assert excess_agreement(a, b) == pytest.approx(0.0)


def test_q_statistic_hand_case() -> None:
    a = bools(T, T, T, T, F, F, F, F)
    b = bools(T, T, T, F, T, T, F, F)
    # N11 = 3 (ex 0-2), N10 = 1 (ex 3), N01 = 2 (ex 4-5), N00 = 2 (ex 6-7)
    # Q = (3*2 - 1*2) / (3*2 + 1*2) = 4/8 = 0.5
    assert q_statistic(a, b) == pytest.approx(0.5)


def test_q_statistic_extremes_and_zero_denominator() -> None:
    a = bools(T, F, T, F, T)
    assert q_statistic(a, a) == 1.0  # identical: N10 = N01 = 0 -> Q = N11*N00/N11*N00
    assert q_statistic(a, ~a) == -1.0  # complementary: N11 = N00 = 0
    # a always right: N00 = N01 = 0, the denominator is 0 -> defined as 0.0.
    assert q_statistic(bools(T, T, T), bools(T, F, T)) == 0.0
    assert q_statistic(bools(F, F), bools(F, F)) == 0.0


def test_q_statistic_independent_columns_near_zero() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.rand(100_000, generator=gen) < 0.6
    b = torch.rand(100_000, generator=gen) < 0.8
    # Std of Q here is ~0.01 (delta method on the log odds ratio); 0.05 is ~5 sigma.
    assert abs(q_statistic(a, b)) < 0.05


def test_pair_functions_validate_inputs() -> None:
    with pytest.raises(TypeError, match="bool"):
        double_fault(torch.tensor([1, 0]), torch.tensor([1, 0]))
    with pytest.raises(ValueError, match="same shape"):
        q_statistic(bools(T, F), bools(T, F, T))


# ------------------------------------------------- ensemble and calibration
def test_ensemble_accuracy_hand_case() -> None:
    # Mean argmax 0 0 1 vs labels 0 1 1 -> 2/3 (member 1 alone gets 3/3).
    assert ensemble_accuracy(PROBS_2x3, LABELS_3) == pytest.approx(2 / 3)
    # An already-averaged [N, C] input is accepted as the ensemble itself.
    assert ensemble_accuracy(PROBS_2x3.mean(0), LABELS_3) == pytest.approx(2 / 3)


def test_ensemble_nll_hand_case() -> None:
    # True-class mean probabilities: .75, .4, .65
    # -(ln .75 + ln .4 + ln .65)/3 = (0.287682 + 0.916291 + 0.430783)/3 = 0.544919
    assert ensemble_nll(PROBS_2x3, LABELS_3) == pytest.approx(0.544919, abs=1e-6)


def test_ensemble_nll_clamps_zero_probability() -> None:
    # Both members give the true class exactly 0 -> -ln(1e-12) = 27.631, not inf.
    probs = torch.tensor([[[1.0, 0.0]], [[1.0, 0.0]]])
    nll = ensemble_nll(probs, torch.tensor([1]))
    assert math.isfinite(nll)
    assert nll == pytest.approx(-math.log(NLL_PROB_FLOOR))


def test_ece_hand_case() -> None:
    probs = torch.tensor([[0.95, 0.05], [0.85, 0.15], [0.35, 0.65], [0.62, 0.38]])
    labels = torch.tensor([0, 1, 1, 0])
    # Top-label confidence / correct: .95 right, .85 wrong, .65 right, .62 right.
    # 15 bins of width 1/15: .95 in [.933, 1), .85 in [.8, .867), .65 and .62 in [.6, .667)
    #   bin [.933,1):  1 ex, acc 1, conf .95  -> |1 - .95|  * 1/4 = .0125
    #   bin [.8,.867): 1 ex, acc 0, conf .85  -> |0 - .85|  * 1/4 = .2125
    #   bin [.6,.667): 2 ex, acc 1, conf .635 -> |1 - .635| * 2/4 = .1825
    #   ECE = .0125 + .2125 + .1825 = .4075
    assert expected_calibration_error(probs, labels) == pytest.approx(0.4075, abs=1e-6)
    # 2 bins: all four in [.5, 1]: acc 3/4, mean conf (.95+.85+.65+.62)/4 = .7675
    #   ECE = |.75 - .7675| = .0175
    assert expected_calibration_error(probs, labels, n_bins=2) == pytest.approx(0.0175, abs=1e-6)


def test_ece_bins_are_closed_on_the_right() -> None:
    # 4 bins (0, .25], (.25, .5], (.5, .75], (.75, 1]; the edges .5, .75, 1 are exact in binary.
    probs = torch.tensor([[0.5, 0.5], [0.75, 0.25], [0.25, 0.75], [1.0, 0.0], [0.875, 0.125]], dtype=torch.float64)
    labels = torch.tensor([1, 0, 0, 0, 1])
    # Top-label (ties -> class 0) confidence / correct: .5 wrong, .75 right, .75 wrong, 1.0 right, .875 wrong.
    #   (.25, .5]:  {.5 wrong}               -> |0 - .5|     * 1/5 = .1
    #   (.5, .75]:  {.75 right, .75 wrong}   -> |.5 - .75|   * 2/5 = .1
    #   (.75, 1]:   {1.0 right, .875 wrong}  -> |.5 - .9375| * 2/5 = .175
    assert expected_calibration_error(probs, labels, n_bins=4) == pytest.approx(0.375, abs=1e-12)
    # A case the two edge conventions tell apart: .75 (right) and .625 (wrong).
    # Right-closed: both in (.5, .75]: |.5 - .6875| = .1875. Left-closed bins would put
    # .75 in [.75, 1): |1 - .75| / 2 + |0 - .625| / 2 = .4375.
    two = torch.tensor([[0.75, 0.25], [0.625, 0.375]], dtype=torch.float64)
    assert expected_calibration_error(two, torch.tensor([0, 1]), n_bins=4) == pytest.approx(0.1875, abs=1e-12)


def test_ece_of_a_perfectly_calibrated_and_a_useless_model() -> None:
    # Confidence .8 on every example, right on exactly 8 of 10: calibrated, ECE 0.
    probs = torch.tensor([[0.8, 0.2]] * 10, dtype=torch.float64)
    assert expected_calibration_error(probs, torch.tensor([0] * 8 + [1] * 2)) == pytest.approx(0.0, abs=1e-12)
    # Confidence 1.0 and always wrong: ECE 1.
    assert expected_calibration_error(torch.tensor([[1.0, 0.0]] * 3), torch.tensor([1, 1, 1])) == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_bins", [15, 10, 3])
def test_ece_matches_torchmetrics(seed: int, n_bins: int) -> None:
    tm = pytest.importorskip(
        "torchmetrics.functional.classification", reason="torchmetrics is not installed (it is only a reference here)"
    )
    gen = torch.Generator().manual_seed(seed)
    num_classes = 3 + seed
    probs = torch.softmax(torch.randn(2, 500, num_classes, generator=gen) * (1 + seed), dim=-1)
    labels = torch.randint(0, num_classes, (500,), generator=gen)
    mean = probs.mean(0)
    # Only exact bin edges are binned differently (torchmetrics: to the upper bin);
    # random float confidences never sit exactly on one.
    edges = torch.linspace(0, 1, n_bins + 1)
    assert not torch.isin(mean.max(-1).values, edges).any()
    reference = tm.multiclass_calibration_error(mean, labels, num_classes=num_classes, n_bins=n_bins, norm="l1")
    assert expected_calibration_error(probs, labels, n_bins=n_bins) == pytest.approx(float(reference), abs=1e-6)


def test_ece_of_members_is_ece_of_their_mean() -> None:
    gen = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(2, 200, 5, generator=gen) * 3, dim=-1)
    labels = torch.randint(0, 5, (200,), generator=gen)
    assert expected_calibration_error(probs, labels) == pytest.approx(
        expected_calibration_error(probs.mean(0), labels), abs=1e-7
    )


def test_probability_inputs_are_validated() -> None:
    logits = torch.tensor([[2.0, -1.0], [0.5, 3.0]])
    with pytest.raises(ValueError, match="softmax"):
        expected_calibration_error(logits, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match=r"\[0, C-1\]"):
        ensemble_accuracy(PROBS_2x3, torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="labels must have shape"):
        ensemble_nll(PROBS_2x3, torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error(PROBS_2x3, LABELS_3, n_bins=0)


# ------------------------------------------------------------------- CKA
def _cka_by_centering_matrix(x: torch.Tensor, y: torch.Tensor) -> float:
    """Reference: HSIC with H K H on *uncentered* Gram matrices (a different route)."""
    x = x.reshape(x.shape[0], -1).double()
    y = y.reshape(y.shape[0], -1).double()
    n = x.shape[0]
    h = torch.eye(n, dtype=torch.float64) - 1.0 / n
    k = h @ (x @ x.T) @ h
    l = h @ (y @ y.T) @ h
    return ((k * l).sum() / (k.norm() * l.norm())).item()


def test_cka_hand_case() -> None:
    # Centered x = (-1, 0, 1), centered y = (-1, 1, 0) (1-D features):
    # CKA = (x.y)^2 / (|x|^2 |y|^2) = 1^2 / (2 * 2) = 0.25
    x = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.tensor([[1.0], [3.0], [2.0]])
    assert linear_cka(x, y) == pytest.approx(0.25)
    # An affine map of a 1-D feature is the same feature: CKA 1.
    assert linear_cka(x, 2 * x + 5) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "shape_x, shape_y",
    [
        ((40, 3), (40, 2)),  # D << N: the feature-space route
        ((20, 50), (20, 30)),  # D >> N: the Gram route
    ],
)
def test_cka_matches_reference_on_both_routes(shape_x: tuple[int, int], shape_y: tuple[int, int]) -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(*shape_x, generator=gen) + 3.0  # offset: centering must matter
    y = x[:, :1] * torch.randn(1, shape_y[1], generator=gen) + torch.randn(*shape_y, generator=gen)
    assert linear_cka(x, y) == pytest.approx(_cka_by_centering_matrix(x, y), abs=1e-10)


@pytest.mark.parametrize("n, d", [(100, 20), (30, 64)])
def test_cka_invariant_to_rotation(n: int, d: int) -> None:
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=gen, dtype=torch.float64))
    assert linear_cka(x, x @ q) == pytest.approx(1.0, abs=1e-6)


def test_cka_invariant_to_isotropic_scaling() -> None:
    gen = torch.Generator().manual_seed(4)
    # float64 inputs: a float32 product 0.01 * y would already round away ~1e-9.
    x = torch.randn(50, 8, generator=gen, dtype=torch.float64)
    y = x @ torch.randn(8, 6, generator=gen, dtype=torch.float64) + torch.randn(
        50, 6, generator=gen, dtype=torch.float64
    )
    base = linear_cka(x, y)
    assert 0.0 < base < 1.0
    assert linear_cka(3.7 * x, y) == pytest.approx(base, abs=1e-9)
    assert linear_cka(x, 0.01 * y) == pytest.approx(base, abs=1e-9)


def test_cka_of_independent_features_near_zero() -> None:
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(4000, 5, generator=gen)
    y = torch.randn(4000, 5, generator=gen)
    # E[CKA] ~ sqrt(D1*D2)/N = 5/4000 for independent Gaussians.
    assert linear_cka(x, y) < 0.01


def test_cka_flattens_feature_maps_and_handles_constant() -> None:
    gen = torch.Generator().manual_seed(6)
    x = torch.randn(16, 2, 3, 3, generator=gen)
    y = torch.randn(16, 4, generator=gen)
    assert linear_cka(x, y) == pytest.approx(linear_cka(x.reshape(16, -1), y))
    assert 0.0 <= linear_cka(x, y) <= 1.0
    # A collapsed representation: 0/0, reported as NaN rather than as "separated".
    assert math.isnan(linear_cka(torch.ones(16, 4), y))
    with pytest.raises(ValueError, match="same N"):
        linear_cka(torch.randn(16, 4), torch.randn(15, 4))


# ------------------------------------------------------------- all at once
def test_pair_metrics_hand_case() -> None:
    m = pair_metrics(PROBS_2x3, LABELS_3)
    assert set(m) == set(PAIR_METRIC_NAMES)
    # correct_1 = (T, T, T), correct_2 = (T, F, T)
    expected = {
        "acc_1": 1.0,
        "acc_2": 2 / 3,
        "member_acc": 5 / 6,
        "min_member_acc": 2 / 3,
        "ensemble_acc": 2 / 3,
        "ensemble_gain": 2 / 3 - 5 / 6,
        "disagreement": 1 / 3,  # argmax (0 1 1) vs (0 0 1)
        "double_fault": 0.0,
        "excess_agreement": 0.0,  # both right 2/3 - 1 * 2/3
        "q_statistic": 0.0,  # member 1 always right: 0/0 -> 0
        "ensemble_nll": 0.544919,
        "tpa_0": 0.0,
        "tpa_1": 1 / 3,
        "tpa_2": 2 / 3,
        # p = (1, 2/3): P0 = 0, P1 = 1 * 1/3, P2 = 1 * 2/3
        "tpa_expected_0": 0.0,
        "tpa_expected_1": 1 / 3,
        "tpa_expected_2": 2 / 3,
    }
    for name, value in expected.items():
        assert m[name] == pytest.approx(value, abs=1e-6), name
    assert m["ece"] == pytest.approx(expected_calibration_error(PROBS_2x3, LABELS_3))


def test_pair_metrics_keys_types_and_identities() -> None:
    gen = torch.Generator().manual_seed(7)
    probs = torch.softmax(torch.randn(2, 500, 10, generator=gen) * 2, dim=-1)
    labels = torch.randint(0, 10, (500,), generator=gen)
    reps = torch.randn(64, 32, generator=gen), torch.randn(64, 8, 2, 2, generator=gen)
    m = pair_metrics(probs, labels, *reps)
    assert set(m) == set(PAIR_METRIC_NAMES) | {"cka"}
    assert set(m) <= set(METRICS)  # every name is a declared metric
    assert all(type(v) is float for v in m.values())
    assert m["ensemble_gain"] == pytest.approx(m["ensemble_acc"] - m["member_acc"])
    assert m["tpa_0"] == pytest.approx(m["double_fault"])
    assert m["tpa_0"] + m["tpa_1"] + m["tpa_2"] == pytest.approx(1.0)
    assert m["tpa_expected_0"] + m["tpa_expected_1"] + m["tpa_expected_2"] == pytest.approx(1.0)
    assert m["cka"] == pytest.approx(linear_cka(*reps, debiased=True))  # the unbiased estimator (DESIGN §4)
    assert "cka" not in pair_metrics(probs, labels)


def test_pair_metrics_rejects_bad_arguments() -> None:
    probs = torch.softmax(torch.randn(3, 4, 2), dim=-1)
    with pytest.raises(ValueError, match=r"\[2, N, C\]"):
        pair_metrics(probs, torch.tensor([0, 1, 0, 1]))
    with pytest.raises(ValueError, match="together"):
        pair_metrics(probs[:2], torch.tensor([0, 1, 0, 1]), rep_1=torch.randn(4, 3))
