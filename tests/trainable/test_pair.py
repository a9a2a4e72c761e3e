"""trainable.pair: the pair built from a config, and loaded back from a checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trainable import load_pair
from trainable.config import TrialConfig
from trainable.data import DatasetInfo
from trainable.loop import run_trial
from trainable.outputs import read_test_outputs
from trainable.pair import build_models

SMALL = {"dataset": "digits", "width": 0.25, "batch_size": 64, "epochs": 2, "cka_examples": 128, "device": "cpu"}
INFO = DatasetInfo("digits", 1, 8, 8, 10, False, (0.3,), (0.4,))


def _flat(net: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()])


def test_classifier_1_depends_on_the_seed_alone_and_the_global_rng_is_untouched() -> None:
    torch.manual_seed(99)
    before = torch.get_rng_state()
    dice = build_models(TrialConfig.from_dict({"objective": "dice", "seed": 4}), INFO)
    independent = build_models(TrialConfig.from_dict({"objective": "independent", "w_adv": 0.0, "seed": 4}), INFO)
    other_seed = build_models(TrialConfig.from_dict({"objective": "dice", "seed": 5}), INFO)
    assert torch.equal(torch.get_rng_state(), before)
    # Paired runs of different objectives share classifier 1's (and 2's) initialisation ...
    assert torch.equal(_flat(dice[0]), _flat(independent[0]))
    assert torch.equal(_flat(dice[1]), _flat(independent[1]))
    # ... the two classifiers of a pair differ, and another seed changes both.
    assert not torch.equal(_flat(dice[0]), _flat(dice[1]))
    assert not torch.equal(_flat(dice[0]), _flat(other_seed[0]))


@pytest.mark.parametrize(
    "objective, embedding, classes",
    [
        ("independent", True, None),
        ("seed", True, None),
        ("dice", True, 10),
        ("dice", False, None),
    ],
)
def test_the_discriminator_follows_the_objective(objective, embedding, classes) -> None:
    raw = {"objective": objective, "disc_class_embedding": embedding}
    if objective == "independent":
        raw["w_adv"] = 0.0
    net_1, _, disc = build_models(TrialConfig.from_dict(raw), INFO)
    if objective == "independent":
        assert disc is None
        return
    # A class embedding only for dice with disc_class_embedding: it takes the labels then.
    assert disc.num_classes == classes
    z = torch.zeros(3, *net_1.representation_shape)
    labels = torch.tensor([0, 1, 2])
    out = disc(z, z, labels) if classes else disc(z, z)
    assert out.shape == (3,)


def test_load_pair_returns_the_trained_pair(tmp_path):
    saved = {}

    def save(metrics, training):
        training.save(tmp_path / f"epoch{training.epoch}")
        saved["outputs"] = training.last_val_outputs

    run_trial({**SMALL, "epochs": 1, "objective": "seed"}, on_epoch=save)
    pair = load_pair(tmp_path / "epoch1")
    assert pair.config.objective == "seed" and pair.epoch == 1 and pair.discriminator is not None
    assert not pair.net_1.training and not pair.net_2.training
    # A sweep trial saves its validation predictions (never the test split's).
    outputs = read_test_outputs(tmp_path / "epoch1", split="validation")
    assert np.array_equal(outputs.member_predictions, saved["outputs"].predictions.numpy())
    assert np.array_equal(outputs.labels, saved["outputs"].labels.numpy())
    with pytest.raises(KeyError, match="test_predictions"):
        read_test_outputs(tmp_path / "epoch1")
