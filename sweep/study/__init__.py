"""Studies: pre-registered comparisons of named arms over paired seeds (``launch.py study``).

``file`` (the YAML file, validated), ``plan`` (its arms and the baselines netsep
adds, as a compare plan; the results folder), ``estimate`` (runs, wall time and
expected minimum detectable difference before anything runs), ``plots`` (the
dose-response figure), ``sequential`` (registered interim looks: the dry run's boundaries and
expected cost, the report's decision and ``sequential.csv``), ``registration`` (a file runs only when git has committed it
unchanged) and ``command`` (the request is ``sweep.requests.StudyRequest``). The runs and the statistics
are compare's: a study and a compare of a sweep's front share one code path. ``compare_studies``
(``launch.py compare-studies A B``; ``sweep.requests.CompareStudiesRequest``) sets two finished
studies side by side, arm by arm, paired by seed.
"""

from __future__ import annotations

from sweep.study.command import run_study_request

__all__ = ["run_study_request"]
