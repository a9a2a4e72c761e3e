"""The typed configuration of one trial, validated once from a plain dict.

Tune hands the trainable a plain dict (from the search space plus fixed settings);
``TrialConfig.from_dict`` turns it back into a typed, frozen pydantic model and
rejects unknown keys and bad values, reporting every problem at once.

Types are strict: YAML's ``"1"`` is not an int and ``true`` is not a number, but an
int is a valid float, and numpy scalars (what Optuna and Tune pass) count as the
Python number they hold. Every number has an upper bound as well as a lower one:
``1e9`` epochs or an infinite learning rate is a typo, and finding it here costs
nothing, while finding it in a trial costs a failed (or endless) trial. NaN and
infinity are refused everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from trainable.objectives import OBJECTIVES, Objective, objective_spec
from trainable.problems import Problems, problem_lines

__all__ = ["FEATURES", "OBJECTIVES", "PAIRINGS", "VECTOR_DISCRIMINATORS", "ConfigError", "TrialConfig"]

PAIRINGS = ("split", "shared", "separate")
FEATURES = ("last_conv", "penultimate")
# The discriminators whose tower takes a vector (trainable/models/discriminators.py): the
# conv towers need a (C, H, W) map. Kept here, as names, so the config needs no torch.
VECTOR_DISCRIMINATORS = ("mlp", "mlp_flat")


class ConfigError(ValueError):
    """A trial config that breaks a rule. ``problems`` lists each one (``key: rule, value``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid trial config: " + "; ".join(problems))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[list[str]]]:
        # Rebuilt from its problems, not its message: Ray pickles a trial's exception.
        return ConfigError, (self.problems,)


class _DefaultsOnTheClass(type(BaseModel)):  # type: ignore[misc]
    """``TrialConfig.epochs`` reads the field's default, as it did when TrialConfig was a dataclass.

    pydantic keeps defaults off the class; callers across the project write
    ``settings.get("objective", TrialConfig.objective)``, and this keeps that true.
    """

    def __getattr__(cls, name: str) -> Any:
        fields = cls.__dict__.get("__pydantic_fields__")
        if fields is not None and name in fields:
            return fields[name].default
        return super().__getattr__(name)


class TrialConfig(BaseModel, metaclass=_DefaultsOnTheClass):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)

    # --- data
    dataset: str = "digits"  # a name in trainable.data's registry
    data_dir: str | None = None  # None: the dataset's default location
    # Class-stratified subset of the training split, in examples. The cap is far above
    # any dataset netsep loads (CIFAR-10: 50,000); the loader checks the real size.
    train_size: int | None = Field(None, ge=2, le=10_000_000)
    augment: bool = True  # random translate (+ flip where the dataset allows it)
    # Validation split, in examples: class-stratified, carved out of the training split
    # before `train_size` (disjoint from it), the same images for the same
    # (dataset, val_size). None: 10 % of the training split. 0: no validation split,
    # so a sweep selects on the test split (docs/protocol.md; its summary says so).
    val_size: int | None = Field(None, ge=0, le=10_000_000)
    # Evaluate validation every this many epochs (and always after the last one).
    eval_every: int = Field(1, ge=1, le=10_000)
    # Evaluate the test split once, after the last epoch, and report it as test_*
    # metrics: compare and study runs only; a sweep selects, so it never sees test.
    final_test: bool = False
    # --- classifiers
    classifier: str = "simple3"  # a name in trainable.models' classifier registry
    # Channel multiplier of the classifier (1.0 = the thesis's, up to 256 channels). At 16
    # a block has 4,096 channels, 256x the convolution FLOPs of 1.0: beyond that is a typo.
    width: float = Field(1.0, gt=0, le=16)
    optimizer: Literal["adam", "sgd"] = "adam"  # adam = AdamW; sgd = SGD, momentum 0.9, Nesterov
    # Classifier learning rate, peak of the schedule (per step, not scaled by batch).
    # Adam/SGD diverge long before 10; above it a value is a slip of the exponent.
    lr: float = Field(1e-3, gt=0, le=10)
    # AdamW: decoupled decay, each step multiplies the weights by (1 - lr * weight_decay),
    # apart from the adaptive gradient step. SGD: L2, weight_decay * w is added to the
    # gradient (so momentum and the lr apply to it too). Useful values are 1e-5..1e-1;
    # above 1 the decay outweighs the loss gradient and the net shrinks towards 0.
    weight_decay: float = Field(5e-4, ge=0, le=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)  # probability mass spread over all classes
    # Examples per step (shared by the pair, or halved when split). 65,536 is larger than
    # any training split netsep loads, so a batch above it can never be filled.
    batch_size: int = Field(128, ge=2, le=65_536)
    epochs: int = Field(5, ge=1, le=10_000)  # passes over the training set; 10,000 is weeks of GPU time
    # --- the joint objective (README.md, docs/protocol.md)
    objective: Objective = "dice"  # a row of trainable/objectives.py
    # How the pair sees each batch: split (half each), shared (both the whole batch), or
    # separate (each member its own data order and augmentation: the standard deep
    # ensemble, `independent` only). None: what the objective implies (`seed`: split;
    # `seed` also takes shared, its pairs then drawn inside the shared batch).
    pairing: Literal["split", "shared", "separate"] | None = None
    # Loss weights (dimensionless): loss = w_ce * CE + w_adv * adversarial term. The shipped
    # spaces search 1e-3..1; a cap of 1,000 leaves three decades of room above that.
    w_ce: float = Field(1.0, ge=0, le=1_000)
    w_adv: float = Field(0.1, ge=0, le=1_000)
    # DICE clips each discriminator logit to +-dice_tau (tau * tanh(logit / tau)), which is
    # the logit itself while |logit| << tau: above 1,000 the clip is off in effect.
    dice_tau: float = Field(10.0, gt=0, le=1_000)
    # --- discriminator
    # A name in trainable.models' discriminator registry. On last_conv, mlp sees the map's
    # channel means (global average pool); mlp_flat sees the whole map flattened (C*H*W).
    disc_arch: str = "mlp"
    # What the discriminator sees: the last conv feature map (after dropout) or the
    # penultimate vector (the input of the last linear layer, what the head uses; DICE's
    # choice). Conv towers (siamese_*) need last_conv; mlp and mlp_flat take either. The default stays
    # last_conv for both objectives: the registered studies features_last_conv and
    # features_penultimate (docs/results/README.md) found no ensemble-accuracy difference
    # between the two (penultimate - last_conv, paired over 8 seeds: dice -0.01 pp
    # [-0.14, +0.13], seed +0.07 pp [-0.06, +0.21]).
    features: Literal["last_conv", "penultimate"] = "last_conv"
    disc_width: int = Field(64, ge=1, le=4_096)  # hidden units / channels per layer
    disc_depth: int = Field(2, ge=1, le=32)  # layers (blocks) per tower; pooling stops at 1x1
    disc_init: Literal["default", "dcgan"] = "default"
    disc_combine: Literal["absdiff", "concat", "product"] = "absdiff"
    disc_class_embedding: bool = True  # dice only: D also sees the class
    disc_lr: float = Field(2e-4, gt=0, le=10)  # Adam(betas=(0.5, 0.999)); cap as for lr
    disc_steps: int = Field(1, ge=1, le=100)  # discriminator updates per classifier step
    # --- run
    # Seeds torch (weights, batches, augmentation); numpy's seed range, like the space's seed.
    seed: int = Field(0, ge=0, lt=2**32)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    checkpoint_every: int = Field(1, ge=1, le=10_000)  # epochs between checkpoints (and the last)
    # Fixed subset of the evaluated split for debiased linear CKA (needs >= 4), in examples.
    cka_examples: int = Field(512, ge=4, le=100_000)
    eval_batch_size: int = Field(1024, ge=1, le=65_536)  # examples per evaluation forward pass
    # --- speed (trainable/fast_path.py; measured by python -m bench.step, bench/README.md)
    # true: the plain step as it was before the fast path, exactly (on the CPU contiguous
    # memory and fp32; torch.optim's optimizers; nn.Dropout), to compare against. false:
    # the fast path (channels_last, fused optimizers, cheaper dropout masks, `precision`),
    # whose gradients equal the plain step's on a fixed batch (tests/trainable/test_fast_path.py).
    eager: bool = False
    # Arithmetic of the forward passes. auto: bf16 autocast on CUDA and on a CPU that
    # computes bf16 in hardware (AMX or AVX512-BF16), fp32 on other CPUs; fp32 / bf16
    # force it (bf16 on a CPU without it is emulated: slower than fp32). Not with eager.
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    # torch.compile the classifiers and D (inductor). Its compilation costs more than it
    # saves in a CPU trial (bench/README.md); meant for GPUs (bench/gpu.py). Not with eager.
    compile: bool = False
    arm: str = ""  # a label carried into the results ("baseline", a compare arm); training ignores it
    # A sweep runs each configuration as replicates with seeds seed_0 + r (r = 0, 1, ...):
    # the configuration's number (its Optuna trial; none for a baseline) and r. Labels only,
    # carried into the results; training ignores them.
    config_id: int | None = Field(None, ge=0, le=1_000_000)  # a sweep has at most a million configurations
    replicate: int | None = Field(None, ge=0, le=10_000)

    # ------------------------------------------------------------------ derived
    @property
    def effective_pairing(self) -> str:
        """How the two classifiers share each batch: ``pairing``, else the objective's own."""
        if self.pairing is not None:
            return self.pairing
        return objective_spec(self.objective).pairing

    @property
    def uses_discriminator(self) -> bool:
        return objective_spec(self.objective).needs_discriminator

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    # --------------------------------------------------------------- validation
    @classmethod
    def field_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def rule_key_groups(cls) -> list[frozenset[str]]:
        """The keys each cross-key rule reads together (a search space checks their combinations)."""
        return [keys for keys, _ in _RULES]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrialConfig:
        """Validate ``raw``; ``ConfigError`` lists every problem (each value, then every rule)."""
        try:
            return cls.model_validate(raw)
        except ValidationError as error:
            lines = problem_lines(error, known_keys=cls.field_names())
        problems = [f"{path}: {message}" if path else message for path, message in lines]
        if isinstance(raw, dict):
            # The cross-key rules did not run (pydantic runs them only on valid fields):
            # check those whose keys are all valid, so every problem shows at once.
            bad = {path.split(".")[0].split("[")[0] for path, _ in lines}
            valid = {k: v for k, v in raw.items() if k in cls.model_fields and k not in bad}
            partial = cls.model_construct(**_plain_values(valid))
            problems += [f"{key}: {message}" for key, message in _rule_problems(partial, skip=bad)]
        raise ConfigError(problems) from None

    @model_validator(mode="before")
    @classmethod
    def _numpy_to_python(cls, data: Any) -> Any:
        return _plain_values(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _cross_key_rules(self) -> TrialConfig:
        problems = _rule_problems(self)
        if problems:
            raise Problems([((key,), message) for key, message in problems])
        return self


def _plain_values(data: dict[str, Any]) -> dict[str, Any]:
    """numpy scalars (Optuna's and Tune's ints and floats) -> the Python value they hold."""
    return {
        k: v.item() if type(v).__module__ == "numpy" and getattr(v, "ndim", None) == 0 else v for k, v in data.items()
    }


# ------------------------------------------------------------------ cross-key rules
# Each rule reads the keys it is registered with and returns (key to blame, message)
# or None. The keys matter beyond this module: a search space checks every
# combination of its params' corner values for each group, not the whole product.
_Rule = Callable[[TrialConfig], "tuple[str, str] | None"]
_RULES: list[tuple[frozenset[str], _Rule]] = []


def _rule(*keys: str) -> Callable[[_Rule], _Rule]:
    def register(check: _Rule) -> _Rule:
        _RULES.append((frozenset(keys), check))
        return check

    return register


def _rule_problems(config: TrialConfig, skip: set[str] = frozenset()) -> list[tuple[str, str]]:  # type: ignore[assignment]
    found = (check(config) for keys, check in _RULES if not keys & skip)
    return [problem for problem in found if problem is not None]


@_rule("w_ce", "w_adv")
def _some_loss_trains(c: TrialConfig) -> tuple[str, str] | None:
    if c.w_ce + c.w_adv > 0:
        return None
    rule = "`w_ce + w_adv > 0` must hold (some loss must train the classifiers)"
    return "w_ce", f"{rule}, but got (w_ce={c.w_ce}, w_adv={c.w_adv})"


@_rule("objective", "w_adv")
def _independent_has_no_adversary(c: TrialConfig) -> tuple[str, str] | None:
    if c.objective != "independent" or c.w_adv == 0:
        return None
    return "w_adv", f"objective 'independent' trains no discriminator, so w_adv must be 0, got {c.w_adv}"


@_rule("objective", "pairing")
def _pairing_fits_the_objective(c: TrialConfig) -> tuple[str, str] | None:
    spec = objective_spec(c.objective)
    if c.pairing == "separate":
        return None  # `independent` only: the next rule says so, once
    if c.effective_pairing not in spec.pairings:
        return "pairing", (
            f"objective {spec.name!r} {spec.why_pairing}, so pairing must be {spec.pairings_text()}, got {c.pairing!r}"
        )
    return None


@_rule("objective", "pairing")
def _separate_is_a_deep_ensemble(c: TrialConfig) -> tuple[str, str] | None:
    if c.pairing != "separate" or c.objective == "independent":
        return None
    return "pairing", f"pairing 'separate' (a deep ensemble) needs objective 'independent', got {c.objective!r}"


@_rule("objective", "features", "disc_arch")
def _vectors_need_the_mlp_tower(c: TrialConfig) -> tuple[str, str] | None:
    if c.features != "penultimate" or not c.uses_discriminator or c.disc_arch in VECTOR_DISCRIMINATORS:
        return None
    takes = " or ".join(repr(name) for name in VECTOR_DISCRIMINATORS)
    return "features", (
        f"features 'penultimate' are vectors, which only disc_arch {takes} take, got disc_arch={c.disc_arch!r}"
    )


@_rule("objective", "pairing", "batch_size")
def _split_batch_is_even(c: TrialConfig) -> tuple[str, str] | None:
    if c.effective_pairing != "split" or c.batch_size % 2 == 0:
        return None
    return "batch_size", f"must be even when the batch is split, got {c.batch_size}"


@_rule("eager", "precision", "compile")
def _eager_is_the_plain_step(c: TrialConfig) -> tuple[str, str] | None:
    if not c.eager:
        return None
    if c.precision != "auto":
        return (
            "precision",
            f"eager runs the plain step, whose precision is fixed, so precision must be 'auto', got {c.precision!r}",
        )
    if c.compile:
        return "compile", "eager runs the plain step, which is not compiled, so compile must be false, got true"
    return None
