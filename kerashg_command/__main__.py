"""`python -m kerashg_command`: the `kerashg` command without its console script."""

import sys

from kerashg_command import main

sys.exit(main())
