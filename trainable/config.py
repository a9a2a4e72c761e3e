"""The typed configuration of one trial, validated once from a plain dict.

Tune hands the trainable a plain dict (from the search space plus fixed settings);
``TrialConfig.from_dict`` turns it back into a typed, frozen object and rejects
unknown keys and bad values, reporting every problem at once.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, fields
from typing import Any, Literal, get_args, get_origin, get_type_hints

__all__ = ["TrialConfig", "ConfigError", "OBJECTIVES", "PAIRINGS"]

OBJECTIVES = ("independent", "seed", "dice")
PAIRINGS = ("split", "shared")


class ConfigError(ValueError):
    """A trial config that breaks a rule. ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid trial config: " + "; ".join(problems))


@dataclass(frozen=True)
class TrialConfig:
    # --- data
    dataset: str = "digits"
    data_dir: str | None = None  # None: the dataset's default location
    train_size: int | None = None  # class-stratified subset of the training split
    augment: bool = True  # random translate (+ flip where the dataset allows it)
    # --- classifiers
    classifier: str = "simple3"
    width: float = 1.0  # channel multiplier of the classifier
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3  # classifier learning rate (peak of the schedule)
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    batch_size: int = 128
    epochs: int = 5
    # --- the joint objective (DESIGN §3)
    objective: Literal["independent", "seed", "dice"] = "dice"
    pairing: Literal["split", "shared"] | None = None  # None: what the objective implies
    w_ce: float = 1.0
    w_adv: float = 0.1
    dice_tau: float = 10.0
    # --- discriminator
    disc_arch: str = "mlp"
    disc_width: int = 64
    disc_depth: int = 2
    disc_init: Literal["default", "dcgan"] = "default"
    disc_combine: Literal["absdiff", "concat", "product"] = "absdiff"
    disc_class_embedding: bool = True  # dice only: D also sees the class
    disc_lr: float = 2e-4
    disc_steps: int = 1
    # --- run
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    checkpoint_every: int = 1
    cka_examples: int = 512  # fixed test subset for linear CKA
    eval_batch_size: int = 1024
    arm: str = ""  # a label carried into the results ("baseline", a compare arm); training ignores it

    # ------------------------------------------------------------------ derived
    @property
    def effective_pairing(self) -> str:
        """How the two classifiers share each batch: seed splits, dice shares."""
        if self.pairing is not None:
            return self.pairing
        return "split" if self.objective == "seed" else "shared"

    @property
    def uses_discriminator(self) -> bool:
        return self.objective != "independent"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # --------------------------------------------------------------- validation
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "TrialConfig":
        problems: list[str] = []
        known = set(cls.field_names())
        unknown = sorted(set(raw) - known)
        for key in unknown:
            problems.append(f"unknown key {key!r} (known keys: {', '.join(sorted(known))})")
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in known:
                continue
            ok, coerced = _coerce(value, hints[key])
            if not ok:
                problems.append(f"{key}: expected {_type_name(hints[key])}, got {value!r}")
            else:
                values[key] = coerced
        if problems:
            raise ConfigError(problems)
        config = cls(**values)
        problems.extend(config._rule_violations())
        if problems:
            raise ConfigError(problems)
        return config

    def _rule_violations(self) -> list[str]:
        p: list[str] = []

        def need(cond: bool, msg: str) -> None:
            if not cond:
                p.append(msg)

        need(self.width > 0, f"width: must be > 0, got {self.width}")
        need(self.lr > 0, f"lr: must be > 0, got {self.lr}")
        need(self.disc_lr > 0, f"disc_lr: must be > 0, got {self.disc_lr}")
        need(self.weight_decay >= 0, f"weight_decay: must be >= 0, got {self.weight_decay}")
        need(0 <= self.label_smoothing < 1, f"label_smoothing: must be in [0, 1), got {self.label_smoothing}")
        need(self.batch_size >= 2, f"batch_size: must be >= 2, got {self.batch_size}")
        need(self.epochs >= 1, f"epochs: must be >= 1, got {self.epochs}")
        need(self.w_ce >= 0, f"w_ce: must be >= 0, got {self.w_ce}")
        need(self.w_adv >= 0, f"w_adv: must be >= 0, got {self.w_adv}")
        need(self.w_ce + self.w_adv > 0, "w_ce + w_adv: must be > 0, got 0")
        need(self.dice_tau > 0, f"dice_tau: must be > 0, got {self.dice_tau}")
        need(self.disc_width >= 1, f"disc_width: must be >= 1, got {self.disc_width}")
        need(self.disc_depth >= 1, f"disc_depth: must be >= 1, got {self.disc_depth}")
        need(self.disc_steps >= 1, f"disc_steps: must be >= 1, got {self.disc_steps}")
        need(self.checkpoint_every >= 1, f"checkpoint_every: must be >= 1, got {self.checkpoint_every}")
        need(self.cka_examples >= 2, f"cka_examples: must be >= 2, got {self.cka_examples}")
        need(self.eval_batch_size >= 1, f"eval_batch_size: must be >= 1, got {self.eval_batch_size}")
        if self.train_size is not None:
            need(self.train_size >= 2, f"train_size: must be >= 2, got {self.train_size}")
        if self.objective == "independent":
            need(self.w_adv == 0,
                 f"w_adv: objective 'independent' trains no discriminator, so w_adv must be 0, got {self.w_adv}")
        if self.objective == "seed":
            need(self.effective_pairing == "split",
                 f"pairing: objective 'seed' splits each batch, so pairing must be 'split', got {self.pairing!r}")
        if self.objective == "dice":
            need(self.effective_pairing == "shared",
                 f"pairing: objective 'dice' shows both classifiers the whole batch, so pairing must be 'shared', got {self.pairing!r}")
        if self.effective_pairing == "split":
            need(self.batch_size % 2 == 0, f"batch_size: must be even when the batch is split, got {self.batch_size}")
        return p


def _type_name(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    args = [a for a in get_args(tp) if a is not type(None)]
    if args and len(args) < len(get_args(tp)):
        return f"{_type_name(args[0])} or null"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any) -> tuple[bool, Any]:
    """Accept ``value`` for type ``tp`` with the few conversions YAML/Tune need."""
    origin = get_origin(tp)
    args = get_args(tp)
    if origin is Literal:
        return (value in args, value)
    if type(None) in args:  # Optional[X]
        if value is None:
            return True, None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0])
    if tp is bool:
        return (isinstance(value, bool), value)
    if tp is int:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, int):
            return True, value
        # numpy ints from Optuna / Tune
        if hasattr(value, "__index__") and not isinstance(value, float):
            return True, int(value)
        if isinstance(value, float) and value.is_integer():
            return True, int(value)
        return False, value
    if tp is float:
        if isinstance(value, bool):
            return False, value
        try:
            return True, float(value)
        except (TypeError, ValueError):
            return False, value
    if tp is str:
        return (isinstance(value, str), value)
    if origin is dict or tp is dict:
        return (isinstance(value, dict), value)
    return True, value
