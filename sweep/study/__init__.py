"""Studies: pre-registered comparisons of named arms over paired seeds (``launch.py study``).

``file`` (the YAML file, validated), ``plan`` (its arms and the baselines netsep
adds, as a compare plan; the results folder), ``estimate`` (runs, wall time and
expected minimum detectable difference before anything runs), ``plots`` (the
dose-response figure), ``request`` and ``command``. The runs and the statistics
are compare's: a study and a compare of a sweep's front share one code path.
"""

from __future__ import annotations

from sweep.study.command import run_study_request
from sweep.study.request import StudyRequest

__all__ = ["StudyRequest", "run_study_request"]
