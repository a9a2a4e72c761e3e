"""The backend: Ray and Ray Tune, behind the few functions the modes call.

* ``connection``: start a local Ray (safe defaults) or join a cluster; its nodes;
* ``tuner``: one way to build a ``tune.Tuner`` (sweep and compare alike);
* ``signals``: SIGTERM handled as Ctrl-C, and the exit code of either;
* ``storage_check``: every node sees ``--storage``;
* ``storage_mirror``: an object-store run gets its plan and report beside Tune's folder;
* ``session``: run, then report whatever happened, then the exit code (every mode), with
  the run's ``provenance.json`` record;
* ``nodes``: Ray's node table for that record; ``wandb_logging``: ``--wandb`` runs carry it.

This file imports nothing, so that a module here costs only what it imports itself.
"""
