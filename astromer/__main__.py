import sys

from astromer.cli.main import main

sys.exit(main())
