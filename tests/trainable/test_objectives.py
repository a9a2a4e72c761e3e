"""The objectives' table: one list of names, and no objective trains as another."""

from __future__ import annotations

from typing import get_args

import pytest

from trainable.config import OBJECTIVES, ConfigError, TrialConfig
from trainable.objectives import Objective, objective_spec


def test_the_table_and_the_static_type_list_the_same_names():
    assert OBJECTIVES == get_args(Objective) == ("independent", "seed", "dice")


def test_each_objective_s_pairing_and_discriminator():
    assert [(objective_spec(o).pairing, objective_spec(o).needs_discriminator) for o in OBJECTIVES] == [
        ("shared", False),
        ("split", True),
        ("shared", True),
    ]
    for name in OBJECTIVES:
        config = TrialConfig.from_dict({"objective": name, "w_adv": 0.0 if name == "independent" else 0.1})
        assert config.effective_pairing == objective_spec(name).pairing
        assert config.uses_discriminator == objective_spec(name).needs_discriminator


def test_an_unknown_name_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="unknown objective 'gan'; known: independent, seed, dice"):
        objective_spec("gan")
    with pytest.raises(ConfigError, match="objective"):
        TrialConfig.from_dict({"objective": "gan"})


def test_a_step_for_an_objective_without_its_code_raises_instead_of_training_as_dice(monkeypatch):
    """A row added to the table but not to the step must fail loudly, not fall into another branch."""
    import torch

    from trainable import objectives, step
    from trainable.objectives import ObjectiveSpec

    new = ObjectiveSpec("mirror", "shared", ("shared",), True, "shares")
    monkeypatch.setitem(objectives._BY_NAME, "mirror", new)
    net = torch.nn.Linear(2, 2)
    settings = step.StepSettings(objective="mirror", pairing="shared")  # type: ignore[arg-type]
    pair_step = step.JointStep(
        settings,
        net,
        net,
        torch.optim.SGD(net.parameters(), lr=0.1),
        discriminator=torch.nn.Linear(2, 1),
        disc_optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
    )
    z, y = torch.zeros(4, 2), torch.tensor([0, 0, 1, 1])
    with pytest.raises(ValueError, match="no discriminator pairs for objective 'mirror'"):
        pair_step._disc_logits_and_targets(z, z, y, y)
    with pytest.raises(ValueError, match="no adversarial term for objective 'mirror'"):
        pair_step._adversarial_term(z, z, y, y)
