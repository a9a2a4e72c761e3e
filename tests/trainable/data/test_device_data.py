"""trainable.data.device_data: batches, augmentation and their determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from trainable.data import DatasetInfo, DeviceData, Split


def make_device_data(
    images: torch.Tensor, labels: torch.Tensor, flip_ok: bool, augment: bool = True, test: Split | None = None
) -> DeviceData:
    _, c, h, w = images.shape
    info = DatasetInfo("synthetic", c, h, w, int(labels.max()) + 1, flip_ok, (0.5,) * c, (0.25,) * c)
    train = Split(images, labels)
    return DeviceData(info, train, test if test is not None else train, torch.device("cpu"), augment)


def variants(image: np.ndarray, pad: int, flip_ok: bool) -> dict[tuple[int, int, bool], np.ndarray]:
    """Every allowed augmentation of one [C, H, W] image, computed independently with numpy:
    reflect-pad by ``pad``, crop at each offset (content moves by (dy, dx)), maybe mirror."""
    _, h, w = image.shape
    padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)), mode="reflect")
    out = {}
    for dy, dx in itertools.product(range(-pad, pad + 1), repeat=2):
        crop = padded[:, pad - dy : pad - dy + h, pad - dx : pad - dx + w]
        out[(dy, dx, False)] = crop
        if flip_ok:
            out[(dy, dx, True)] = crop[:, :, ::-1]
    return out


def test_train_batches_shapes_range_and_labels() -> None:
    # Image k is constant k, so every output (translated or flipped) still says which it is.
    n = 50
    images = torch.arange(n, dtype=torch.uint8).view(n, 1, 1, 1).expand(n, 3, 6, 6).contiguous()
    labels = torch.arange(n) % 7
    dd = make_device_data(images, labels, flip_ok=True)
    assert dd.steps_per_epoch(16) == 3
    batches = list(dd.train_batches(16, torch.Generator().manual_seed(0)))
    assert len(batches) == 3
    seen = []
    for x, y in batches:
        assert x.shape == (16, 3, 6, 6) and x.dtype == torch.float32 and y.dtype == torch.int64
        assert 0.0 <= x.min() and x.max() <= 1.0
        ids = (x[:, 0, 0, 0] * 255).round().long()
        assert (x * 255 - ids.view(-1, 1, 1, 1)).abs().max() < 1e-4
        assert torch.equal(y, labels[ids])
        seen += ids.tolist()
    assert len(set(seen)) == 48  # drop_last: 48 distinct examples, none twice
    assert seen != sorted(seen)  # shuffled


def test_train_batches_are_deterministic_per_generator_seed() -> None:
    images = torch.randint(0, 256, (40, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dd = make_device_data(images, torch.arange(40) % 4, flip_ok=True)

    def epoch(seed: int) -> list[torch.Tensor]:
        return [x for x, _ in dd.train_batches(8, torch.Generator().manual_seed(seed))]

    assert all(torch.equal(a, b) for a, b in zip(epoch(3), epoch(3)))
    assert not all(torch.equal(a, b) for a, b in zip(epoch(3), epoch(4)))


@pytest.mark.parametrize(("size", "pad"), [(8, 1), (28, 2), (32, 2)])
def test_translate_moves_a_bright_pixel_by_at_most_pad(size: int, pad: int) -> None:
    n = 400  # enough draws that every one of the (2*pad+1)**2 shifts occurs
    images = torch.zeros(n, 1, size, size, dtype=torch.uint8)
    y0, x0 = size // 2 - 1, size // 2
    images[:, 0, y0, x0] = 255
    dd = make_device_data(images, torch.zeros(n, dtype=torch.long), flip_ok=False)
    assert dd.pad == pad
    moves = set()
    for x, _ in dd.train_batches(100, torch.Generator().manual_seed(0)):
        for image in x[:, 0]:
            where = (image == 1.0).nonzero()
            assert where.shape == (1, 2) and image.sum() == 1.0  # moved, not smeared or lost
            moves.add((int(where[0, 0]) - y0, int(where[0, 1]) - x0))
    assert moves == set(itertools.product(range(-pad, pad + 1), repeat=2))


@pytest.mark.parametrize("flip_ok", [False, True])
def test_augmentation_is_a_translate_and_flips_only_where_allowed(flip_ok: bool) -> None:
    n = 96
    images = torch.randint(0, 256, (n, 2, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    # Label = index, so each output can be compared with its own source image.
    dd = make_device_data(images, torch.arange(n), flip_ok=flip_ok)
    used: set[tuple[int, int, bool]] = set()
    for x, y in dd.train_batches(32, torch.Generator().manual_seed(2)):
        out = (x * 255).round().to(torch.uint8).numpy()
        for image, label in zip(out, y.tolist()):
            matches = [k for k, v in variants(images[label].numpy(), 1, flip_ok).items() if np.array_equal(v, image)]
            assert matches, "output is not an allowed translate/flip of its source image"
            used.update(matches)
    assert any(flip for _, _, flip in used) == flip_ok
    assert {(dy, dx) for dy, dx, _ in used} == set(itertools.product(range(-1, 2), repeat=2))


def test_no_augmentation_gives_the_images_themselves() -> None:
    images = torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    dd = make_device_data(images, torch.arange(20), flip_ok=True, augment=False)
    for x, y in dd.train_batches(5, torch.Generator().manual_seed(0)):
        assert torch.equal(x, images[y].float() / 255)


def test_test_batches_cover_every_example_once_in_order() -> None:
    test = Split(torch.randint(0, 256, (23, 1, 8, 8), dtype=torch.uint8), torch.arange(23) % 10)
    dd = make_device_data(test.images, test.labels, flip_ok=True, test=test)
    batches = list(dd.test_batches(10))
    assert [len(y) for _, y in batches] == [10, 10, 3]
    assert torch.equal(torch.cat([x for x, _ in batches]), test.images.float() / 255)
    assert torch.equal(torch.cat([y for _, y in batches]), test.labels)


def test_bad_batch_arguments_are_errors() -> None:
    dd = make_device_data(torch.zeros(10, 1, 8, 8, dtype=torch.uint8), torch.arange(10), flip_ok=False)
    with pytest.raises(ValueError, match=r"batch_size <= 10.*batch_size=11"):
        dd.steps_per_epoch(11)
    with pytest.raises(ValueError, match="batch_size=0"):
        list(dd.test_batches(0))
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="CPU"):
            next(dd.train_batches(2, torch.Generator(device="cuda")))
