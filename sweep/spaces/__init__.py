"""Search spaces: YAML files in ``search_spaces/``, validated into typed, frozen config.

A space names the sweep, its objectives, the trial settings held constant
(``fixed``) and the ones Optuna searches (``params``). Each param maps one-to-one
onto an Optuna distribution (float / int with ``low``, ``high``, ``log``, ``step``;
categorical with ``choices``; bounds inclusive). ``when`` makes a param conditional
on an earlier categorical one, so the space is define-by-run::

    params:
      disc_arch: {type: categorical, choices: [mlp, siamese_pool]}
      disc_depth: {type: int, low: 1, high: 4, when: {disc_arch: [siamese_pool]}}

``load_space`` reports every problem in the file at once, one per line, each naming
the file, the key path, the rule and the bad value, as a ``UserError``. Besides the
file's own structure (pydantic models, ``model``) it checks that the settings exist
in ``TrialConfig``, that names are known to the dataset / classifier /
discriminator registries (``rules``), and that the fixed settings combined with the
corners of the space (each choice, each bound) give valid trial configs
(``corners``), so a sweep does not fail one trial at a time at run time. The file
is read with a bounded safe YAML loader (``yaml_reader``).

Modules: ``model`` (the typed params, objectives and space), ``yaml_reader``,
``report`` (the problem lines), ``rules``, ``corners``, ``loader`` (``load_space``).
"""

from __future__ import annotations

from sweep.spaces.loader import (
    SPACES_DIR,
    available_spaces,
    load_space,
    resolve_space_path,
)
from sweep.spaces.model import (
    CategoricalParam,
    Choice,
    FloatParam,
    IntParam,
    Objective,
    Param,
    SearchSpace,
)

__all__ = [
    # reading a space
    "SPACES_DIR",
    "available_spaces",
    "load_space",
    "resolve_space_path",
    # what it is made of: the space, its objectives, its params by kind
    "SearchSpace",
    "Objective",
    "Param",
    "FloatParam",
    "IntParam",
    "CategoricalParam",
    "Choice",
]
