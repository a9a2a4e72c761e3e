"""Every registered classifier and discriminator: shapes, gradients, symmetry, init, errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from trainable.config import VECTOR_DISCRIMINATORS
from trainable.models import (
    Classifier,
    classifier_names,
    create_classifier,
    create_discriminator,
    dcgan_init_,
    discriminator_names,
)
from trainable.models.discriminators import COMBINES, INITS
from trainable.registry import UnknownNameError

# (in_channels, image_size, num_classes): digits, Fashion-MNIST, CIFAR-10 cat/dog.
GEOMETRIES = [(1, 8, 10), (1, 28, 10), (3, 32, 2)]
WIDTH = 0.5
BATCH = 4


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def _classifier(name: str, geometry: tuple[int, int, int], **kw: object) -> Classifier:
    c, s, k = geometry
    args: dict[str, object] = dict(
        in_channels=c, image_size=s, num_classes=k, mean=(0.5,) * c, std=(0.25,) * c, width=WIDTH
    )
    args.update(kw)
    return create_classifier(name, **args)  # type: ignore[arg-type]


def _rep_shapes() -> list[tuple[int, ...]]:
    """The representation shapes the registered classifiers produce (8x8 and 32x32 inputs)."""
    shapes = {
        _classifier(n, g).representation_shape for n in classifier_names() for g in (GEOMETRIES[0], GEOMETRIES[2])
    }
    return sorted(shapes)


# ------------------------------------------------------------------ classifiers
def test_registered_classifiers() -> None:
    assert classifier_names() == ["fast", "simple3"]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=lambda g: f"{g[0]}x{g[1]}x{g[1]}-{g[2]}cls")
@pytest.mark.parametrize("name", classifier_names())
def test_classifier_forward_backward(name: str, geometry: tuple[int, int, int]) -> None:
    c, s, k = geometry
    model = _classifier(name, geometry)
    x = torch.rand(BATCH, c, s, s)
    y = torch.randint(0, k, (BATCH,))
    logits, z = model(x)
    assert logits.shape == (BATCH, k)
    assert z.shape == (BATCH, *model.representation_shape)
    assert len(model.representation_shape) == 3
    assert torch.isfinite(logits).all() and torch.isfinite(z).all()
    # The representation feeds the discriminator, so gradients must flow through it too.
    loss = nn.functional.cross_entropy(logits, y) + z.square().mean()
    loss.backward()
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    assert trainable
    for pname, p in trainable:
        assert p.grad is not None, pname
        assert torch.isfinite(p.grad).all(), pname
    assert any(p.grad.abs().sum() > 0 for _, p in trainable if p.grad is not None)


@pytest.mark.parametrize("name", classifier_names())
def test_classifier_channels_last_matches_contiguous(name: str) -> None:
    model = _classifier(name, GEOMETRIES[2]).eval()
    x = torch.rand(BATCH, 3, 32, 32)
    ref_logits, ref_z = model(x)
    model = model.to(memory_format=torch.channels_last)
    logits, z = model(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(logits, ref_logits, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(z, ref_z, rtol=1e-4, atol=1e-5)


@pytest.mark.slow  # trains for more than a few seconds
@pytest.mark.parametrize("name", classifier_names())
def test_classifier_learns_a_small_batch(name: str) -> None:
    """A few Adam steps fit 32 fixed 8x8 images: the net is wired to learn at all."""
    model = _classifier(name, GEOMETRIES[0])
    x = torch.rand(32, 1, 8, 8)
    y = torch.arange(32) % 10
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=3e-3)
    for _ in range(80):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x)[0], y).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(x)[0].argmax(1) == y).float().mean().item()
    assert acc >= 0.75  # chance is 0.1; over seeds 0-9 the worst run reaches 0.875


@pytest.mark.parametrize("name", classifier_names())
def test_normalization_lives_in_state_dict(name: str) -> None:
    a = _classifier(name, GEOMETRIES[2], mean=(0.49, 0.48, 0.45), std=(0.25, 0.24, 0.26)).eval()
    b = _classifier(name, GEOMETRIES[2], mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)).eval()
    state = a.state_dict()
    assert "input_mean" in state and "input_std" in state
    torch.testing.assert_close(state["input_mean"].flatten(), torch.tensor([0.49, 0.48, 0.45]))
    x = torch.rand(BATCH, 3, 32, 32)
    assert not torch.allclose(a(x)[0], b(x)[0])
    b.load_state_dict(state)  # b's own mean/std are overwritten by a's
    torch.testing.assert_close(b(x)[0], a(x)[0])
    torch.testing.assert_close(b(x)[1], a(x)[1])


def test_normalization_is_applied() -> None:
    model = _classifier("simple3", GEOMETRIES[0], mean=(0.5,), std=(0.25,))
    x = torch.full((1, 1, 8, 8), 0.75)
    torch.testing.assert_close(model.normalize(x), torch.ones(1, 1, 8, 8))


def test_unknown_classifier_lists_known_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        _classifier("resnet9000", GEOMETRIES[0])
    for known in classifier_names():
        assert known in str(info.value)


@pytest.mark.parametrize(
    "bad, fragment",
    [
        (dict(mean=(0.5, 0.5)), "one value per input channel"),
        (dict(std=(0.0,)), "std values must all be > 0"),
        (dict(num_classes=1), "num_classes must be >= 2"),
        (dict(width=0.0), "width must be a finite number > 0"),
    ],
)
def test_classifier_rejects_bad_geometry(bad: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        _classifier("simple3", GEOMETRIES[0], **bad)


def test_classifier_rejects_wrong_channel_count() -> None:
    model = _classifier("fast", GEOMETRIES[0])
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        model(torch.rand(2, 3, 8, 8))


# --------------------------------------------------------------- discriminators
def test_registered_discriminators() -> None:
    assert discriminator_names() == ["mlp", "mlp_flat", "siamese_pool", "siamese_strided"]


@pytest.mark.parametrize("rep_shape", _rep_shapes(), ids=str)
@pytest.mark.parametrize("num_classes", [None, 10], ids=["no-class", "class-embedding"])
@pytest.mark.parametrize("combine", COMBINES)
@pytest.mark.parametrize("name", discriminator_names())
def test_discriminator_forward_backward(
    name: str, combine: str, num_classes: int | None, rep_shape: tuple[int, ...]
) -> None:
    disc = create_discriminator(name, rep_shape=rep_shape, width=16, depth=2, combine=combine, num_classes=num_classes)
    z1 = torch.randn(BATCH, *rep_shape, requires_grad=True)
    z2 = torch.randn(BATCH, *rep_shape, requires_grad=True)
    y = torch.randint(0, 10, (BATCH,)) if num_classes else None
    out = disc(z1, z2, y)
    assert out.shape == (BATCH,)
    assert torch.isfinite(out).all()
    out.sum().backward()
    for z in (z1, z2):
        assert z.grad is not None and torch.isfinite(z.grad).all()
        assert z.grad.abs().sum() > 0


@pytest.mark.parametrize("combine", ["absdiff", "product"])
@pytest.mark.parametrize("name", discriminator_names())
def test_symmetric_combines_are_symmetric(name: str, combine: str) -> None:
    rep_shape = _rep_shapes()[-1]
    disc = create_discriminator(name, rep_shape=rep_shape, width=16, combine=combine, num_classes=10)
    z1, z2 = torch.randn(BATCH, *rep_shape), torch.randn(BATCH, *rep_shape)
    y = torch.randint(0, 10, (BATCH,))
    disc(z1, z2, y)  # one training-mode call, so BatchNorm's running stats are not the init ones
    disc.eval()
    torch.testing.assert_close(disc(z1, z2, y), disc(z2, z1, y))


@pytest.mark.parametrize("name", discriminator_names())
def test_concat_is_order_aware(name: str) -> None:
    rep_shape = _rep_shapes()[-1]
    disc = create_discriminator(name, rep_shape=rep_shape, width=16, combine="concat").eval()
    z1, z2 = torch.randn(BATCH, *rep_shape), torch.randn(BATCH, *rep_shape)
    assert not torch.allclose(disc(z1, z2), disc(z2, z1))


def test_class_embedding_changes_the_logit() -> None:
    rep_shape = _rep_shapes()[0]
    disc = create_discriminator("mlp", rep_shape=rep_shape, width=16, num_classes=10).eval()
    z1, z2 = torch.randn(BATCH, *rep_shape), torch.randn(BATCH, *rep_shape)
    out_a = disc(z1, z2, torch.zeros(BATCH, dtype=torch.long))
    out_b = disc(z1, z2, torch.full((BATCH,), 7, dtype=torch.long))
    assert not torch.allclose(out_a, out_b)


def test_y_is_required_exactly_with_a_class_embedding() -> None:
    rep_shape = _rep_shapes()[0]
    z = torch.randn(BATCH, *rep_shape)
    with_class = create_discriminator("mlp", rep_shape=rep_shape, num_classes=10)
    without = create_discriminator("mlp", rep_shape=rep_shape)
    with pytest.raises(ValueError, match="must be given exactly when"):
        with_class(z, z)
    with pytest.raises(ValueError, match="must be given exactly when"):
        without(z, z, torch.zeros(BATCH, dtype=torch.long))


def test_discriminator_rejects_wrong_rep_shape() -> None:
    disc = create_discriminator("siamese_pool", rep_shape=(16, 4, 4))
    with pytest.raises(ValueError, match=r"\[B, 16, 4, 4\]"):
        disc(torch.randn(2, 16, 2, 2), torch.randn(2, 16, 2, 2))


def test_mlp_accepts_vectors_conv_towers_do_not() -> None:
    for name in VECTOR_DISCRIMINATORS:
        disc = create_discriminator(name, rep_shape=(32,), width=8)
        assert disc(torch.randn(3, 32), torch.randn(3, 32)).shape == (3,)
    for name in sorted(set(discriminator_names()) - set(VECTOR_DISCRIMINATORS)):
        with pytest.raises(ValueError, match=r"rep_shape must be \(C, H, W\)"):
            create_discriminator(name, rep_shape=(32,))
    for name in VECTOR_DISCRIMINATORS:  # a vector or a map, nothing else
        with pytest.raises(ValueError, match=rf"discriminator '{name}' needs rep_shape \(C,\) or \(C, H, W\)"):
            create_discriminator(name, rep_shape=(4, 8))


def test_mlp_sees_channel_means_mlp_flat_sees_every_position() -> None:
    """On a (C, H, W) map, mlp reads the C channel means; mlp_flat all C*H*W features."""
    rep_shape = (8, 4, 4)
    pooled = create_discriminator("mlp", rep_shape=rep_shape, width=16).eval()
    flat = create_discriminator("mlp_flat", rep_shape=rep_shape, width=16).eval()
    first = {
        name: next(m for m in d.tower if isinstance(m, nn.Linear)) for name, d in (("mlp", pooled), ("flat", flat))
    }
    assert first["mlp"].in_features == 8 and first["flat"].in_features == 8 * 4 * 4
    # Moving each channel's activation to another position keeps its mean: mlp cannot tell.
    z1, z2 = torch.randn(BATCH, *rep_shape), torch.randn(BATCH, *rep_shape)
    moved = z2.flip(-1)
    torch.testing.assert_close(pooled(z1, z2), pooled(z1, moved))
    assert not torch.allclose(flat(z1, z2), flat(z1, moved))


def test_mlp_flat_reads_channels_last_maps_as_contiguous_ones() -> None:
    """The fast path hands D channels_last maps: flattening follows (C, H, W), not memory order."""
    disc = create_discriminator("mlp_flat", rep_shape=(8, 4, 4), width=16).eval()
    z1, z2 = torch.randn(BATCH, 8, 4, 4), torch.randn(BATCH, 8, 4, 4)
    channels_last = [z.to(memory_format=torch.channels_last) for z in (z1, z2)]
    torch.testing.assert_close(disc(z1, z2), disc(*channels_last))


def test_dcgan_init_statistics() -> None:
    disc = create_discriminator("siamese_strided", rep_shape=(256, 4, 4), width=128, init="dcgan")
    conv = disc.tower[0]
    assert isinstance(conv, nn.Conv2d) and conv.weight.numel() > 100_000
    assert abs(conv.weight.std().item() - 0.02) < 0.001
    assert abs(conv.weight.mean().item()) < 0.001
    bn = disc.tower[1]
    assert isinstance(bn, nn.BatchNorm2d)
    assert abs(bn.weight.mean().item() - 1.0) < 0.01 and 0.01 < bn.weight.std().item() < 0.03
    assert (bn.bias == 0).all()
    for m in disc.modules():
        if isinstance(m, nn.Linear):
            assert (m.bias == 0).all()
            assert m.weight.std().item() < 0.03
    # PyTorch's default (Kaiming-uniform, fan_in 256*9) has std ~0.012: clearly different.
    default = create_discriminator("siamese_strided", rep_shape=(256, 4, 4), width=128)
    assert abs(default.tower[0].weight.std().item() - 0.02) > 0.005


def test_dcgan_init_function_works_in_place() -> None:
    module = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(64), nn.Linear(64, 64))
    assert dcgan_init_(module) is module
    assert abs(module[0].weight.std().item() - 0.02) < 0.002
    assert (module[0].bias == 0).all() and (module[2].bias == 0).all()


def test_unknown_discriminator_lists_known_names() -> None:
    with pytest.raises(UnknownNameError) as info:
        create_discriminator("transformer", rep_shape=(8, 2, 2))
    for known in discriminator_names():
        assert known in str(info.value)


@pytest.mark.parametrize(
    "kw, known",
    [(dict(init="xavier"), INITS), (dict(combine="cosine"), COMBINES)],
)
def test_unknown_init_or_combine_lists_known_values(kw: dict[str, str], known: tuple[str, ...]) -> None:
    with pytest.raises(ValueError) as info:
        create_discriminator("mlp", rep_shape=(8, 2, 2), **kw)  # type: ignore[arg-type]
    message = str(info.value)
    assert next(iter(kw.values())) in message
    for value in known:
        assert value in message


@pytest.mark.parametrize("kw", [dict(width=0), dict(depth=0), dict(num_classes=0), dict(rep_shape=(8, 0, 2))])
def test_discriminator_rejects_bad_sizes(kw: dict[str, object]) -> None:
    args: dict[str, object] = dict(rep_shape=(8, 2, 2))
    args.update(kw)
    with pytest.raises(ValueError, match="must be"):
        create_discriminator("mlp", **args)  # type: ignore[arg-type]
