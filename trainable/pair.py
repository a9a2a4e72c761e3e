"""The classifier pair of one trial: build it from a config, or load it from a checkpoint.

``build_models`` is the one place that turns a ``TrialConfig`` and a dataset's
``DatasetInfo`` into the two classifiers and the discriminator, so a trial, a
reloaded checkpoint and the compare mode all get the same networks (and the same
initialisation) for the same config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from trainable.checkpoint import read_state
from trainable.config import TrialConfig
from trainable.data import DatasetInfo
from trainable.models import create_classifier, create_discriminator

__all__ = ["LoadedPair", "build_models", "load_pair"]

# Classifier 2 and D draw their initialisation from seed + this offset (a prime far
# from any seed a sweep uses), so they never share classifier 1's stream.
_SECOND_SEED_OFFSET = 1_000_003


@dataclass
class LoadedPair:
    net_1: nn.Module
    net_2: nn.Module
    discriminator: nn.Module | None
    config: TrialConfig
    info: DatasetInfo
    epoch: int
    # The saved per-example predictions are read by trainable.outputs.read_test_outputs
    # (split "validation", or "test" after a final test), not kept here twice.


def build_models(config: TrialConfig, info: DatasetInfo) -> tuple[nn.Module, nn.Module, nn.Module | None]:
    """The two classifiers (same architecture, different init) and the discriminator.

    Classifier 1 is initialised from ``seed`` alone, so paired runs of different
    objectives with the same seed share its initialisation; classifier 2 and D come
    from a derived seed. The global RNG is forked so callers' streams are untouched.
    """

    def classifier() -> nn.Module:
        return create_classifier(
            config.classifier,
            in_channels=info.channels,
            image_size=info.height,
            num_classes=info.num_classes,
            mean=info.mean,
            std=info.std,
            width=config.width,
            representation=config.features,
        )

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        net_1 = classifier()
        torch.manual_seed(config.seed + _SECOND_SEED_OFFSET)
        net_2 = classifier()
        disc = None
        if config.uses_discriminator:
            with_classes = config.objective == "dice" and config.disc_class_embedding
            disc = create_discriminator(
                config.disc_arch,
                rep_shape=tuple(net_1.representation_shape),
                width=config.disc_width,
                depth=config.disc_depth,
                init=config.disc_init,
                combine=config.disc_combine,
                num_classes=info.num_classes if with_classes else None,
            )
    return net_1, net_2, disc


def _dataset_info(raw: dict) -> DatasetInfo:
    """A ``DatasetInfo`` from its checkpointed dict (tuples come back as lists)."""
    fields = dict(raw)
    fields["mean"], fields["std"] = tuple(fields["mean"]), tuple(fields["std"])
    return DatasetInfo(**fields)


def load_pair(checkpoint_dir: str | Path, device: str | torch.device = "cpu") -> LoadedPair:
    """The two classifiers (eval mode), the discriminator and the config of a trial."""
    state = read_state(checkpoint_dir)
    config = TrialConfig.from_dict(state["config"])
    info = _dataset_info(state["dataset_info"])
    net_1, net_2, disc = build_models(config, info)
    net_1.load_state_dict(state["net_1"])
    net_2.load_state_dict(state["net_2"])
    if disc is not None:
        disc.load_state_dict(state["disc"])
        disc.to(device).eval()
    return LoadedPair(
        net_1=net_1.to(device).eval(),
        net_2=net_2.to(device).eval(),
        discriminator=disc,
        config=config,
        info=info,
        epoch=int(state["epoch"]),
    )
