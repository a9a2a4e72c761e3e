"""The objectives' table: one list of names, and no objective trains as another."""

from __future__ import annotations

from typing import get_args

import pytest

from trainable.config import OBJECTIVES, ConfigError, TrialConfig
from trainable.objectives import Objective, objective_spec


def test_the_table_and_the_static_type_list_the_same_names():
    assert OBJECTIVES == get_args(Objective) == ("independent", "seed", "dice")


def test_each_objective_s_pairing_and_discriminator():
    assert [
        (objective_spec(o).pairing, objective_spec(o).pairings, objective_spec(o).needs_discriminator)
        for o in OBJECTIVES
    ] == [
        ("shared", ("split", "shared", "separate"), False),
        ("split", ("split", "shared"), True),
        ("shared", ("shared",), True),
    ]
    for name in OBJECTIVES:
        w_adv = 0.0 if name == "independent" else 0.1
        config = TrialConfig.from_dict({"objective": name, "w_adv": w_adv})
        assert config.effective_pairing == objective_spec(name).pairing
        assert config.uses_discriminator == objective_spec(name).needs_discriminator
        # Every pairing of the row is a valid trial config, and the step takes it.
        for pairing in objective_spec(name).pairings:
            config = TrialConfig.from_dict({"objective": name, "w_adv": w_adv, "pairing": pairing})
            assert config.effective_pairing == pairing


def test_a_step_refuses_a_pairing_its_objective_does_not_list():
    import torch

    from trainable.step import JointStep, StepSettings

    net = torch.nn.Linear(2, 2)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    disc = torch.nn.Linear(2, 1)
    for objective, pairing in (("seed", "separate"), ("dice", "split")):
        with pytest.raises(ValueError, match=f"objective '{objective}' needs pairing .*, got '{pairing}'"):
            JointStep(StepSettings(objective=objective, pairing=pairing), net, net, opt, disc, opt)  # type: ignore[arg-type]
    JointStep(StepSettings(objective="seed", pairing="shared"), net, net, opt, disc, opt)


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
