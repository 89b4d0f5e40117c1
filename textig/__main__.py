"""``python -m textig`` runs the CLI."""

import sys

from textig.cli import main

sys.exit(main())
