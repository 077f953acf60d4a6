import sys

from exportrisk.cli import main

sys.exit(main())
