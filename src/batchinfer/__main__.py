"""`python -m batchinfer ...`: see batchinfer.cli."""

import sys

from batchinfer.cli import main

sys.exit(main())
