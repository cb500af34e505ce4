"""`python -m platehub ...`: the `platehub` command."""

import sys

from platehub.cli import main

sys.exit(main())
