"""`python -m platehub.cli ...`: the `platehub` command."""

import sys

from platehub.cli import main

sys.exit(main())
