"""The sweep mode: ``launch.py --space NAME`` and what belongs to it alone.

* ``command``: ``new_sweep`` and ``resume`` from a typed request (validate, take the
  folder, connect, check, run, report, exit code);
* ``runner``: the plan and space -> Tune + the searcher -> a finished ``fit``;
  ``check_resumable`` before a resume;
* ``validate``: ``launch.py validate`` (what a space and settings would run);
* ``dashboard``: ``launch.py dashboard`` (optuna-dashboard on the live study).

Import the module you need; this file imports nothing, so that reading the map costs nothing.
"""
