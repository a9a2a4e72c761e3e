"""netsep's sweep side: everything between the command line and one trial.

The parts, from the top (each layer imports only the ones below it; see
``docs/design.md`` and the import-linter contracts in ``pyproject.toml``):

* ``cli``: argv -> a typed request (``requests``) -> the mode that does the work;
* the modes: ``run/`` (a sweep: its command, runner, ``validate`` and ``dashboard``),
  ``study/`` (pre-registered studies) and ``compare/`` (retrain a sweep's front and its
  baselines over paired seeds, with paired statistics);
* ``report/``: a results folder's report, rebuilt from the folder alone (also Tune's
  experiment folder reader, ``report.tune_folder``);
* ``backend/``: Ray and Tune (connection, Tuner assembly, signals, storage checks and
  mirror) and the one run-then-report rule every mode follows;
* ``plan``: a sweep request plus its space, validated into ``sweep.json``;
* ``spaces/``: YAML search spaces, validated into typed objects;
* ``search/``: Optuna behind Tune's searcher interface (the baseline first, honest
  outcomes, JSON state, the live study, the samplers);
* the ground: ``errors`` (exit codes, ``UserError``), ``paths``, ``formatting``,
  ``baselines`` (the matched ``independent`` pairs), ``requests``, ``resources`` (per-trial
  resources and the fit check), ``folders`` (results folders: made, locked, trusted),
  ``provenance`` (every folder's ``provenance.json``: the code, versions and machines).

Nothing here touches tensors: ``trainable/`` runs one trial.
"""
