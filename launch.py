#!/usr/bin/env python
"""netsep's command line. `python launch.py --help` lists every option.

python launch.py --smoke-test              # a short real sweep on digits
python launch.py --space loss_weights      # the research sweep (`run` is the default command)
python launch.py validate loss_weights     # check a space and key=value settings, run nothing
python launch.py report experiments/NAME   # rebuild a results folder's report
python launch.py compare experiments/NAME  # retrain the front against the baseline
"""

import sys

from sweep.cli import main

if __name__ == "__main__":
    sys.exit(main())
