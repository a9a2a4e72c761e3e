"""collect_outputs across batches, and discriminator_accuracy on hand-made discriminators."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from trainable.evaluate import collect_outputs, discriminator_accuracy, evaluate_pair


class Echo(nn.Module):
    """A 'classifier' whose representation is its input and whose logits are fixed by it."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * self.scale, x


def _batches(x: torch.Tensor, y: torch.Tensor, size: int):
    return [(x[i : i + size], y[i : i + size]) for i in range(0, len(y), size)]


@pytest.mark.parametrize("rep_examples", [1, 4, 5, 10, 11, 13, 100])
def test_collect_outputs_keeps_the_first_rep_examples_across_batches(rep_examples: int) -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(13, 3, generator=gen)  # 13 examples in batches of 4, 4, 4, 1
    y = torch.randint(0, 3, (13,), generator=gen)
    out = collect_outputs(Echo(1.0), Echo(2.0), _batches(x, y, 4), rep_examples)
    kept = min(rep_examples, 13)
    # The representations are exactly the first `kept` examples, in order, for both nets.
    assert torch.equal(out.reps[0], x[:kept]) and torch.equal(out.reps[1], x[:kept])
    assert torch.equal(out.labels, y)
    torch.testing.assert_close(out.probs, torch.stack([torch.softmax(x, -1), torch.softmax(2 * x, -1)]))


def test_collect_outputs_restores_training_mode() -> None:
    net_1, net_2 = Echo(1.0), Echo(1.0)
    net_1.train(), net_2.eval()
    seen = []
    net_1.register_forward_hook(lambda m, i, o: seen.append(m.training))
    collect_outputs(net_1, net_2, _batches(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long), 2), 2)
    assert seen == [False] and net_1.training and not net_2.training


# ------------------------------------------------------- discriminator accuracy
# Representations encode (class, example index) so a hand-made D can "see" both:
# z[:, 0] = class, z[:, 1] = index. Each D below records the pairs it was shown, and
# the test computes the balanced accuracy from those pairs with plain Python.


class RuleD(nn.Module):
    """logit = +1 where ``rule(a, b)`` (rows of z_1 and z_2 as tuples) holds, else -1."""

    def __init__(self, rule) -> None:
        super().__init__()
        self.rule = rule
        self.anchor = nn.Parameter(torch.zeros(1))  # discriminator_accuracy reads its device
        self.shown: list[tuple[tuple[int, int], tuple[int, int]]] = []

    def forward(self, z_1: torch.Tensor, z_2: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        rows = [(tuple(int(v) for v in a), tuple(int(v) for v in b)) for a, b in zip(z_1, z_2)]
        self.shown.extend(rows)
        return torch.tensor([1.0 if self.rule(a, b) else -1.0 for a, b in rows])


def _reps(labels: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.tensor([[c, i] for i, c in enumerate(labels)], dtype=torch.float32)
    return z, z.clone()


def _balanced(pairs, truth, rule) -> float:
    rates = []
    for want in (True, False):
        group = [(a, b) for a, b in pairs if truth(a, b) == want]
        if group:
            rates.append(sum(rule(a, b) == want for a, b in group) / len(group))
    return sum(rates) / len(rates)


LABELS = [0, 1, 2, 0, 1, 2, 0, 0, 1, 3, 2, 1]
SAME_CLASS = lambda a, b: a[0] == b[0]
SAME_INPUT = lambda a, b: a[1] == b[1]


@pytest.mark.parametrize("objective, truth", [("seed", SAME_CLASS), ("dice", SAME_INPUT)])
def test_perfect_useless_and_inverted_discriminators(objective, truth) -> None:
    reps, labels = _reps(LABELS), torch.tensor(LABELS)
    cases = [(truth, 1.0), (lambda a, b: True, 0.5), (lambda a, b: False, 0.5), (lambda a, b: not truth(a, b), 0.0)]
    for rule, expected in cases:
        assert discriminator_accuracy(RuleD(rule), objective, reps, labels, seed=3) == expected


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("objective, truth", [("seed", SAME_CLASS), ("dice", SAME_INPUT)])
def test_an_imperfect_discriminator_gets_its_balanced_accuracy(objective, truth, seed) -> None:
    # Says "positive" for a true positive unless the class is 1, and for a negative
    # when the two indices sum to a multiple of 3: right on some of each kind.
    rule = lambda a, b: (truth(a, b) and a[0] != 1) or (not truth(a, b) and (a[1] + b[1]) % 3 == 0)
    disc = RuleD(rule)
    got = discriminator_accuracy(disc, objective, _reps(LABELS), torch.tensor(LABELS), seed=seed)
    assert 0.0 < got < 1.0
    assert got == pytest.approx(_balanced(disc.shown, truth, rule), abs=1e-6)  # float32 means
    # The pairs are the objective's: seed pairs each z_1 once with a z_2 of its class
    # and once with a z_2 of another class (balanced pairs); dice shows every true
    # pair, then same-class negatives.
    if objective == "seed":
        same = [a[1] for a, b in disc.shown if a[0] == b[0]]
        other = [a[1] for a, b in disc.shown if a[0] != b[0]]
        assert sorted(same) == sorted(other) == list(range(len(LABELS)))
    else:
        n = len(LABELS)
        assert [a == b for a, b in disc.shown[:n]] == [True] * n
        negatives = disc.shown[n:]
        assert all(a[0] == b[0] and a[1] != b[1] for a, b in negatives)
        assert len(negatives) == n - 1  # class 3 has a single example: no negative for it


def test_discriminator_accuracy_is_repeatable_and_restores_mode() -> None:
    rule = lambda a, b: (a[1] * 7 + b[1]) % 2 == 0
    disc = RuleD(rule).train()
    reps, labels = _reps(LABELS), torch.tensor(LABELS)
    first = discriminator_accuracy(disc, "seed", reps, labels, seed=5)
    assert discriminator_accuracy(disc, "seed", reps, labels, seed=5) == first
    assert disc.training


def test_evaluate_pair_gives_nan_disc_acc_without_a_discriminator() -> None:
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    outputs = collect_outputs(Echo(1.0), Echo(3.0), _batches(x, torch.tensor([0, 1, 2, 0, 1, 2]), 4), 6)
    assert math.isnan(evaluate_pair(outputs, None, "independent", 0)["disc_acc"])
    # With one, it is measured on the rep_examples (the first 6 here).
    disc = RuleD(lambda a, b: True)
    assert evaluate_pair(outputs, disc, "seed", 0)["disc_acc"] == 0.5
