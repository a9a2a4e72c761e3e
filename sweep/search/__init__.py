"""The search: Optuna proposes, Tune runs, and what Optuna is told matches what happened.

* ``searcher``: ``SweepSearcher`` (baselines first, early-stopped trials PRUNED, errors
  FAIL, JSON state, the live study), ``ListSearcher`` (compare's fixed list) and the
  glue that lets a resumed copy of a folder write where it is now;
* ``samplers``: the space's sampler by name (``tpe``, ``nsga2``, ``gp``, ``random``), seeded;
* ``state``: an Optuna study as JSON data and back (never a pickle);
* ``live_study``: the study in the results folder's ``optuna.journal``;
* ``looks``, ``look_gate``: a sequential study's looks, and the Tune callback that lets
  ``ListSearcher`` release one look's runs at a time and ends the runs once every
  registered comparison is decided.

This file imports nothing: ``sweep.spaces`` reads the sampler names without Ray.
"""
