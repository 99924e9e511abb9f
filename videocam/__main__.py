"""``python -m videocam`` (also under ``torchrun -m videocam evaluate ...``)."""

import sys

from videocam.cli import main

if __name__ == "__main__":
    sys.exit(main())
