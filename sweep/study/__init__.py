"""Studies: pre-registered comparisons of named arms over paired seeds (``launch.py study``).

``file`` (the YAML file, validated), ``plan`` (its arms and the baselines netsep
adds, as a compare plan; the results folder), ``estimate`` (runs, wall time and
expected minimum detectable difference before anything runs), ``plots`` (the
dose-response figure) and ``command`` (the request is ``sweep.requests.StudyRequest``). The runs and the statistics
are compare's: a study and a compare of a sweep's front share one code path.
"""

from __future__ import annotations

from sweep.study.command import run_study_request

__all__ = ["run_study_request"]
