"""``python -m gluonlr``: the same as the ``gluonlr`` command."""

import sys

from gluonlr.cli import main

if __name__ == "__main__":
    sys.exit(main())
