"""Statistics for claims over seeds: pure functions on numbers, no Ray, no files.

* ``paired``: per-arm mean and sd, the paired t interval of differences over seeds, exact McNemar;
* ``power``: the paired t test's p-value, Holm's adjustment, power, the minimum detectable
  difference, the seeds needed for an effect, and what an interval excludes;
* ``equivalence``: TOST against a margin, Bonferroni's simultaneous intervals over arms, and
  each arm's word (better, worse, equivalent within ±X pp, undecided);
* ``sequential``: a group-sequential test over looks (Lan-DeMets alpha spending, the paired t
  rule, repeated confidence intervals), and ``sequential_simulation``: its simulated error
  rates, power and expected cost.

Used by the sweep's report (configurations against the baseline), compare and studies.
"""
