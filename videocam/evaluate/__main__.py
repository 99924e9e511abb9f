"""``python -m videocam.evaluate`` (also ``torchrun -m videocam.evaluate ...``)."""

import sys

from videocam.evaluate.cli import main

if __name__ == "__main__":
    sys.exit(main())
