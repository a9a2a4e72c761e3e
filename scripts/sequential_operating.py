"""The operating characteristics of netsep's sequential rule, by simulation: docs/protocol.md section 11.

    python -m scripts.sequential_operating                 # the table in the docs (100,000 studies a row)
    python -m scripts.sequential_operating --studies 2000  # a quick look

Each row simulates studies of normal paired differences (sd 0.3 pp, the size the
Fashion-MNIST studies measured) judged look by look with the paired t rule
(``sweep.stats.sequential``): the fraction called better, worse or equivalent within the
margin (0.25 pp), the family-wise type-I error over the arms, the expected seeds per arm
and where the studies stopped. The naive row tests at the fixed-sample level at every
look, which the spending function exists to prevent. Fixed RNG seeds: the same numbers
every time.
"""

from __future__ import annotations

import argparse

import numpy as np

from sweep.formatting import text_table
from sweep.stats.power import power_paired_t
from sweep.stats.sequential import SequentialDesign
from sweep.stats.sequential_simulation import naive_criticals, simulate

MARGIN = 0.0025  # fraction: 0.25 pp, the registered smallest effect of fmnist_dose and the features studies
SD = 0.003  # fraction: sd of the paired differences
# (label, looks, spending, comparisons, naive)
DESIGNS = [
    ("O'Brien-Fleming, 1 arm", (8, 16), "obrien-fleming", 1, False),
    ("Pocock, 1 arm", (8, 16), "pocock", 1, False),
    ("O'Brien-Fleming, 4 looks", (4, 8, 12, 16), "obrien-fleming", 1, False),
    ("O'Brien-Fleming, 6 arms", (8, 16), "obrien-fleming", 6, False),
    ("naive: fixed level at each look", (8, 16), "obrien-fleming", 1, True),
]
EFFECTS = [(0.0, "0"), (MARGIN, "margin"), (-MARGIN, "-margin")]


def rows(studies: int) -> list[list[str]]:
    out = []
    for label, looks, spending, m, naive in DESIGNS:
        design = SequentialDesign(looks, MARGIN, spending=spending, comparisons=m)
        for effect, name in EFFECTS:
            if naive and effect != 0.0:
                continue
            rng = np.random.default_rng(2026)
            o = simulate(design, effect, SD, studies, rng, naive_criticals(design) if naive else None)
            out.append(
                [
                    label,
                    name,
                    f"{o.better:.4f}",
                    f"{o.worse:.4f}",
                    f"{o.equivalent:.4f}",
                    f"{o.any_rejected:.4f} ± {o.monte_carlo_se:.4f}",
                    f"{o.expected_seeds:.2f}",
                    " / ".join(f"{p:.3f}" for p in o.stopped_at),
                ]
            )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=100_000, help="simulated studies per row (default 100,000)")
    args = parser.parse_args(argv)
    header = ["design", "true effect", "better", "worse", "equivalent", "any arm rejected", "E[seeds]", "stopped at"]
    print(
        f"paired sd {100 * SD:.2f} pp, margin ±{100 * MARGIN:.2f} pp, two-sided alpha 0.05 (over the arms), "
        f"{args.studies:,} studies a row"
    )
    print(text_table(header, rows(args.studies)))
    print(f"fixed design, 16 seeds, paired t: power at the margin {power_paired_t(MARGIN, SD, 16):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
