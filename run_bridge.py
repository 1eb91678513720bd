"""Entry point: `python run_bridge.py <command>`; all the work is in `bridge.cli`."""

import sys

from bridge.cli import main

if __name__ == "__main__":
    sys.exit(main())
