"""Properties of the joint step (docs/design.md, "The joint training step"), proved on small real modules."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from trainable.models import create_classifier, create_discriminator
from trainable.step import (
    JointStep,
    StepSettings,
    cross_half_partners,
    dice_adversarial_term,
    same_class_partners,
    seed_pairs,
    shared_batch_partners,
)

NUM_CLASSES = 4
# The (objective, pairing) pairs a step trains with a discriminator: `seed` in both of its
# pairings (trainable/objectives.py), `dice` in its one.
ADVERSARIAL = [("seed", "split"), ("seed", "shared"), ("dice", "shared")]


def _default_pairing(objective: str) -> str:
    return "split" if objective == "seed" else "shared"


def _pair_and_disc(objective: str, disc_arch: str = "mlp", seed: int = 0):
    torch.manual_seed(seed)
    kw = dict(in_channels=1, image_size=8, num_classes=NUM_CLASSES, mean=(0.5,), std=(0.25,), width=0.25)
    net_1 = create_classifier("simple3", **kw)
    net_2 = create_classifier("simple3", **kw)
    disc = create_discriminator(
        disc_arch,
        rep_shape=tuple(net_1.representation_shape),
        width=16,
        depth=2,
        num_classes=NUM_CLASSES if objective == "dice" else None,
    )
    return net_1, net_2, disc


def _make_step(objective: str, w_adv: float = 0.5, disc_arch: str = "mlp", lr: float = 0.1, pairing: str | None = None):
    net_1, net_2, disc = _pair_and_disc(objective, disc_arch)
    opt = torch.optim.SGD(list(net_1.parameters()) + list(net_2.parameters()), lr=lr)
    disc_opt = torch.optim.Adam(disc.parameters(), lr=1e-2, betas=(0.5, 0.999))
    settings = StepSettings(objective=objective, pairing=pairing or _default_pairing(objective), w_ce=1.0, w_adv=w_adv)
    disc_arg = None if objective == "independent" else disc
    disc_opt_arg = None if objective == "independent" else disc_opt
    step = JointStep(settings, net_1, net_2, opt, disc_arg, disc_opt_arg, torch.Generator().manual_seed(1))
    return step, net_1, net_2, disc, opt, disc_opt


def _batch(n: int = 16, seed: int = 3):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, 8, 8, generator=g)
    y = torch.arange(n) % NUM_CLASSES  # every class at least twice
    return x, y[torch.randperm(n, generator=g)]


def _params(*modules: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for m in modules for p in m.parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("objective, pairing", ADVERSARIAL)
@pytest.mark.parametrize("disc_arch", ["mlp", "mlp_flat", "siamese_strided"])
def test_discriminator_update_leaves_classifiers_and_classifier_update_leaves_disc(objective, pairing, disc_arch):
    step, net_1, net_2, disc, opt, disc_opt = _make_step(objective, disc_arch=disc_arch, pairing=pairing)
    seen = {}
    before_step = _params(net_1, net_2)

    def after_disc_step(optimizer, args, kwargs):
        # D just stepped: the classifiers must be untouched and hold no gradient from D's loss.
        seen["classifiers_same"] = _same(before_step, _params(net_1, net_2))
        seen["classifier_grads"] = [p.grad for p in list(net_1.parameters()) + list(net_2.parameters())]
        seen["disc_after_d"] = _params(disc)
        seen["disc_grads_after_d"] = [p.grad.clone() for p in disc.parameters()]

    def before_classifier_step(optimizer, args, kwargs):
        seen["disc_grads_before_c"] = [p.grad.clone() for p in disc.parameters()]

    disc_opt.register_step_post_hook(after_disc_step)
    opt.register_step_pre_hook(before_classifier_step)
    x, y = _batch()
    step(x, y)

    assert seen["classifiers_same"]
    assert all(g is None for g in seen["classifier_grads"])
    # The classifier update changed the classifiers but not D ...
    assert not _same(before_step, _params(net_1, net_2))
    assert _same(seen["disc_after_d"], _params(disc))
    # ... and its backward computed no gradient for D (D is frozen, not just skipped).
    assert all(torch.equal(a, b) for a, b in zip(seen["disc_grads_after_d"], seen["disc_grads_before_c"]))


def _grads_at_classifier_step(step, opt, net_1, net_2, x, y):
    grads = {}

    def capture(optimizer, args, kwargs):
        grads["g"] = [p.grad.clone() for p in list(net_1.parameters()) + list(net_2.parameters())]

    handle = opt.register_step_pre_hook(capture)
    torch.manual_seed(123)  # the same dropout masks as in _plain_ce_grads
    step(x, y)
    handle.remove()
    return grads["g"]


def _plain_ce_grads(pairing, net_1, net_2, x, y):
    """Gradients of CE alone, on the data each classifier sees under ``pairing``."""
    half = x.shape[0] // 2
    (x1, y1), (x2, y2) = ((x[:half], y[:half]), (x[half:], y[half:])) if pairing == "split" else ((x, y), (x, y))
    net_1, net_2 = copy.deepcopy(net_1), copy.deepcopy(net_2)
    torch.manual_seed(123)
    loss = F.cross_entropy(net_1(x1)[0], y1) + F.cross_entropy(net_2(x2)[0], y2)
    loss.backward()
    return [p.grad for p in list(net_1.parameters()) + list(net_2.parameters())]


@pytest.mark.parametrize("objective, pairing", [*ADVERSARIAL, ("independent", "shared"), ("independent", "split")])
def test_zero_adversarial_weight_gives_plain_cross_entropy_gradients(objective, pairing):
    step, net_1, net_2, disc, opt, _ = _make_step(objective, w_adv=0.0, pairing=pairing)
    x, y = _batch()
    expected = _plain_ce_grads(pairing, net_1, net_2, x, y)
    got = _grads_at_classifier_step(step, opt, net_1, net_2, x, y)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective, pairing", ADVERSARIAL)
def test_zero_adversarial_weight_gives_the_independent_pair_s_gradients(objective, pairing):
    """At w_adv 0 an adversarial pair trains exactly as the `independent` pair with its pairing.

    Both steps run on the same initial networks and batch: the discriminator's own
    update (and its draws from the step's generator) must not reach the classifiers.
    """
    step, net_1, net_2, _, opt, _ = _make_step(objective, w_adv=0.0, pairing=pairing)
    baseline, base_1, base_2, _, base_opt, _ = _make_step("independent", w_adv=0.0, pairing=pairing)
    x, y = _batch()
    got = _grads_at_classifier_step(step, opt, net_1, net_2, x, y)
    expected = _grads_at_classifier_step(baseline, base_opt, base_1, base_2, x, y)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("objective, pairing", ADVERSARIAL)
def test_positive_adversarial_weight_changes_the_gradients(objective, pairing):
    # The counterpart of the test above: the adversarial term is really there.
    step, net_1, net_2, disc, opt, _ = _make_step(objective, w_adv=1.0, pairing=pairing)
    x, y = _batch()
    plain = _plain_ce_grads(pairing, net_1, net_2, x, y)
    got = _grads_at_classifier_step(step, opt, net_1, net_2, x, y)
    assert any(not torch.allclose(a, b, rtol=1e-4, atol=1e-6) for a, b in zip(got, plain))


def test_split_pairing_gives_each_classifier_its_own_half():
    step, net_1, net_2, *_ = _make_step("seed")
    seen = []
    net_1.register_forward_hook(lambda m, inp, out: seen.append(("1", inp[0].clone())))
    net_2.register_forward_hook(lambda m, inp, out: seen.append(("2", inp[0].clone())))
    x, y = _batch(16)
    step(x, y)
    assert torch.equal(seen[0][1], x[:8]) and torch.equal(seen[1][1], x[8:])


def test_shared_seed_gives_each_classifier_the_whole_batch():
    step, net_1, net_2, *_ = _make_step("seed", pairing="shared")
    seen = []
    net_1.register_forward_hook(lambda m, inp, out: seen.append(inp[0].clone()))
    net_2.register_forward_hook(lambda m, inp, out: seen.append(inp[0].clone()))
    x, y = _batch(16)
    step(x, y)
    assert torch.equal(seen[0], x) and torch.equal(seen[1], x)


def test_shared_batch_partners_pair_different_images_same_class_and_other_class():
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 3, 1, 2, 2])  # class 3 is alone in the batch
    idx = torch.arange(len(y))
    for _ in range(30):
        same, same_ok, other, other_ok = shared_batch_partners(y, g)
        # same-class partners: another image of the class, never the image itself
        assert same_ok.tolist() == [c != 3 for c in y.tolist()]
        assert torch.equal(y[same][same_ok], y[same_ok]) and (same[same_ok] != idx[same_ok]).all()
        # other-class partners: an image of another class for every image (so another image)
        assert other_ok.all() and (y[other] != y).all()
        # balanced: one pair of each kind per image that has both (all but the lone one)
        assert int(same_ok.sum()) == int(other_ok.sum()) - 1


def test_shared_batch_partners_cover_every_candidate():
    # Uniform draws: over many batches image 0 meets each other image of its class and
    # each image of another class (no fixed partner), and never itself.
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 0, 2, 0, 1])
    seen_same, seen_other = set(), set()
    for _ in range(200):
        same, _, other, _ = shared_batch_partners(y, g)
        seen_same.add(int(same[0]))
        seen_other.add(int(other[0]))
    assert seen_same == {2, 4} and seen_other == {1, 3, 5}


def test_shared_batch_partners_of_one_class_have_no_other_and_a_lone_image_no_same():
    same, same_ok, other, other_ok = shared_batch_partners(torch.tensor([2, 2, 2]), torch.Generator().manual_seed(0))
    assert same_ok.all() and not other_ok.any()
    _, same_ok, _, other_ok = shared_batch_partners(torch.tensor([1, 0]), torch.Generator().manual_seed(0))
    assert not same_ok.any() and other_ok.all()


def test_seed_targets_are_label_equality_not_xor():
    y_a = torch.tensor([0, 1, 2, 3, 2, 5])
    y_b = torch.tensor([0, 2, 2, 1, 3, 5])
    # same class -> 1: (0,0) yes, (1,2) no, (2,2) yes, (3,1) no, (2,3) no, (5,5) yes.
    assert seed_pairs(y_a, y_b).tolist() == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    # The thesis's XOR (bool(a) ^ bool(b)) would call (1,2) and (3,1) "same" pairs (0): wrong.
    xor = (y_a.bool() ^ y_b.bool()).float()
    assert not torch.equal(seed_pairs(y_a, y_b), 1 - xor)


def test_seed_cross_half_partners_are_one_same_and_one_other_class_image():
    g = torch.Generator().manual_seed(0)
    y_a = torch.tensor([0, 1, 2, 3, 1, 0])
    y_b = torch.tensor([1, 0, 1, 2, 0, 2])  # class 3 has no image in half b
    for _ in range(30):
        same, same_ok, other, other_ok = cross_half_partners(y_a, y_b, g)
        assert same_ok.tolist() == [True, True, True, False, True, True]
        assert other_ok.all()
        assert torch.equal(y_b[same][same_ok], y_a[same_ok])
        assert (y_b[other] != y_a).all()


def test_seed_cross_half_partners_cover_every_candidate():
    # Uniform draws: over many batches each same-class candidate and each other-class
    # candidate of half b is picked (no fixed partner).
    g = torch.Generator().manual_seed(0)
    y_a = torch.tensor([0])
    y_b = torch.tensor([0, 1, 0, 2, 0, 1])
    seen_same, seen_other = set(), set()
    for _ in range(200):
        same, _, other, _ = cross_half_partners(y_a, y_b, g)
        seen_same.add(int(same[0]))
        seen_other.add(int(other[0]))
    assert seen_same == {0, 2, 4} and seen_other == {1, 3, 5}


def test_seed_cross_half_partners_with_one_class_have_no_other():
    same, same_ok, other, other_ok = cross_half_partners(
        torch.tensor([2, 2]), torch.tensor([2, 2, 2]), torch.Generator().manual_seed(0)
    )
    assert same_ok.all() and not other_ok.any()


def test_dice_negatives_are_other_images_of_the_same_class():
    g = torch.Generator().manual_seed(0)
    y = torch.tensor([0, 1, 0, 2, 1, 0, 3, 1, 2])  # class 3 is alone in the batch
    for _ in range(20):
        partner, valid = same_class_partners(y, g)
        assert torch.equal(y[partner], y)
        idx = torch.arange(len(y))
        assert torch.equal(valid, partner != idx)
        assert valid.tolist() == [c != 3 for c in y.tolist()]
        # a permutation within each class: every example is some example's partner once
        assert sorted(partner.tolist()) == list(range(len(y)))


def test_dice_partners_are_shuffled_by_the_generator():
    y = torch.zeros(12, dtype=torch.long)
    a, _ = same_class_partners(y, torch.Generator().manual_seed(0))
    b, _ = same_class_partners(y, torch.Generator().manual_seed(1))
    c, _ = same_class_partners(y, torch.Generator().manual_seed(0))
    assert torch.equal(a, c) and not torch.equal(a, b)


def test_dice_term_is_tanh_clipped():
    logits = torch.tensor([0.0, 5.0, 1000.0, -1000.0])
    tau = 10.0
    expected = (0.0 + 10 * torch.tanh(torch.tensor(0.5)).item() + 10.0 - 10.0) / 4
    assert dice_adversarial_term(logits, tau).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.slow  # trains for more than a few seconds
@pytest.mark.parametrize(
    "objective, pairing", [("independent", "shared"), ("seed", "split"), ("seed", "shared"), ("dice", "shared")]
)
def test_steps_reduce_cross_entropy_on_a_fixed_batch(objective, pairing):
    w_adv = 0.0 if objective == "independent" else 0.1
    step, net_1, net_2, *_ = _make_step(objective, w_adv=w_adv, lr=0.05, pairing=pairing)
    x, y = _batch(32)
    first = step(x, y).classifier_loss.item()
    for _ in range(30):
        last = step(x, y).classifier_loss.item()
    assert last < first


def test_independent_objective_needs_no_discriminator_and_dice_needs_one():
    net_1, net_2, _ = _pair_and_disc("dice")
    opt = torch.optim.SGD(list(net_1.parameters()) + list(net_2.parameters()), lr=0.1)
    with pytest.raises(ValueError, match="needs a discriminator"):
        JointStep(StepSettings(objective="dice", pairing="shared"), net_1, net_2, opt)
    JointStep(StepSettings(objective="independent", pairing="split"), net_1, net_2, opt)


# ------------------------------------------------- the exact classifier gradient
# The classifiers' gradient at the step's classifier update, recomputed from deep
# copies with the loss written out here (not with the step's code):
#   w_ce * (CE_1 + CE_2) + w_adv * A,
# CE with label smoothing eps: -sum_c q_c log softmax_c, q = (1 - eps) onehot + eps / C;
# A through the discriminator *after* its disc_steps updates:
#   seed: D trains on balanced pairs (for each image i seen by classifier 1, one
#         same-class and one other-class partner image seen by classifier 2, target
#         1 = same class): with pairing split the partners come from half 2; with
#         pairing shared from the whole batch, the same-class partner never i itself;
#         A = mean softplus(D(z_1[i], z_2[same(i)])) over the same-class pairs only
#         (BCE towards "different class"),
#   dice: mean tau * tanh(D(z_1, z_2, y) / tau).
DICE_TAU = 10.0


def _smoothed_ce(logits: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    log_p = torch.log_softmax(logits.float(), dim=-1)
    q = torch.full_like(log_p, eps / logits.shape[-1])
    q[torch.arange(len(y)), y] += 1.0 - eps
    return -(q * log_p).sum(-1).mean()


def _views(pairing: str, x: torch.Tensor, y: torch.Tensor):
    if pairing == "split":
        half = x.shape[0] // 2
        return x[:half], y[:half], x[half:], y[half:]
    return x, y, x, y


def _reference_seed_partners(pairing, y_1, y_2, generator):
    """The seed partners written out: cross-half draws (split), or in one batch (shared)."""
    if pairing == "split":
        return cross_half_partners(y_1, y_2, generator)
    # shared: a within-class derangement gives the same-class partners (never i), then
    # uniform other-class draws from the whole batch.
    same, same_ok = same_class_partners(y_1, generator)
    _, _, other, other_ok = cross_half_partners(y_1, y_1, generator)
    assert not (same[same_ok] == torch.arange(len(y_1))[same_ok]).any()
    return same, same_ok, other, other_ok


def _reference_grads(objective, settings, step, x, y):
    """The classifier gradients by the formula above, on deep copies of the step's modules."""
    # One deepcopy call, so the copied optimizer (and its Adam state) points at the copied D.
    net_1, net_2, disc, disc_opt = copy.deepcopy((step.net_1, step.net_2, step.discriminator, step.disc_optimizer))
    generator_state = step.generator.get_state()
    generator = torch.Generator()
    generator.set_state(generator_state)
    x_1, y_1, x_2, y_2 = _views(settings.pairing, x, y)
    torch.manual_seed(123)  # the step's dropout masks
    logits_1, z_1 = net_1(x_1)
    logits_2, z_2 = net_2(x_2)
    for _ in range(settings.disc_steps):
        z_1d, z_2d = z_1.detach(), z_2.detach()
        if objective == "seed":
            same, same_ok, other, other_ok = _reference_seed_partners(settings.pairing, y_1, y_2, generator)
            pos = disc(z_1d[same_ok], z_2d[same[same_ok]])
            neg = disc(z_1d[other_ok], z_2d[other[other_ok]])
            d_logits = torch.cat([pos, neg])
            targets = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        else:
            partner, valid = same_class_partners(y_1, generator)
            pos, neg = disc(z_1d, z_2d, y_1), disc(z_1d[valid], z_2d[partner[valid]], y_1[valid])
            d_logits = torch.cat([pos, neg])
            targets = torch.cat([torch.ones_like(pos), torch.zeros_like(neg)])
        disc_opt.zero_grad()
        F.binary_cross_entropy_with_logits(d_logits, targets).backward()
        disc_opt.step()
    eps = settings.label_smoothing
    loss = settings.w_ce * (_smoothed_ce(logits_1, y_1, eps) + _smoothed_ce(logits_2, y_2, eps))
    if objective == "seed":
        same, same_ok, _, _ = _reference_seed_partners(settings.pairing, y_1, y_2, generator)
        adversarial = F.softplus(disc(z_1[same_ok], z_2[same[same_ok]])).mean()
    else:
        adversarial = (DICE_TAU * torch.tanh(disc(z_1, z_2, y_1) / DICE_TAU)).mean()
    loss = loss + settings.w_adv * adversarial
    params = list(net_1.parameters()) + list(net_2.parameters())
    return torch.autograd.grad(loss, params), _params(disc)


@pytest.mark.parametrize("objective, pairing", ADVERSARIAL)
@pytest.mark.parametrize("w_ce", [1.0, 0.4])
@pytest.mark.parametrize("w_adv", [0.3, 1.5])
@pytest.mark.parametrize("disc_steps", [1, 3])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_classifier_gradient_is_exactly_the_formula(objective, pairing, w_ce, w_adv, disc_steps, label_smoothing):
    net_1, net_2, disc = _pair_and_disc(objective)
    opt = torch.optim.SGD(list(net_1.parameters()) + list(net_2.parameters()), lr=0.1)
    # D steps with plain SGD here, not the trial's Adam: Adam divides each gradient by its
    # running RMS, so a near-zero gradient that differs in the last float bit between the
    # step and the reference (another summation order on another CPU) becomes a whole
    # lr-sized difference after a few D steps. SGD keeps float-level differences at float
    # level; lr 0.5 moves D enough that skipping or repeating a D update changes the
    # classifiers' gradient far beyond the tolerance (checked: disc_steps ignored fails).
    disc_opt = torch.optim.SGD(disc.parameters(), lr=0.5)
    settings = StepSettings(
        objective=objective,
        pairing=pairing,
        w_ce=w_ce,
        w_adv=w_adv,
        dice_tau=DICE_TAU,
        disc_steps=disc_steps,
        label_smoothing=label_smoothing,
    )
    step = JointStep(settings, net_1, net_2, opt, disc, disc_opt, torch.Generator().manual_seed(1))
    x, y = _batch()
    # Take a first step so D and the classifiers are past their initialisation (and
    # Adam has state), then check the second step's gradient.
    torch.manual_seed(7)
    step(x, y)
    expected, expected_disc = _reference_grads(objective, settings, step, x, y)
    disc_before = _params(disc)
    got = _grads_at_classifier_step(step, opt, net_1, net_2, x, y)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    # D itself took the reference's disc_steps updates (and did move: the check is not vacuous).
    assert not _same(disc_before, _params(disc))
    for a, b in zip(_params(disc), expected_disc):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
