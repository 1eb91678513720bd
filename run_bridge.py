"""Entry point: `python run_bridge.py <command>`; all the work is in `bridge.cli.main`."""

import sys

from bridge.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
