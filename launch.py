#!/usr/bin/env python
"""netsep's command line. `python launch.py --help` lists every option.

python launch.py --smoke-test              # a short real sweep on digits
python launch.py --space loss_weights      # the research sweep
"""

import sys

from sweep.cli import main

if __name__ == "__main__":
    sys.exit(main())
