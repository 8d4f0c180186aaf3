"""`python -m training.evaluate`: the evaluation command, `kerashg.evaluate`, under its
older name (the same options and output, its usage line named as typed; the code is
`kerashg.evaluation`)."""

import sys

from kerashg import cli
from kerashg.evaluate import main

if __name__ == "__main__":
    with cli.invoked_as("python -m training.evaluate"):
        sys.exit(main())
