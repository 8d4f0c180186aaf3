"""`python -m training.evaluate`: the evaluation command, `kerashg.evaluate`, under its
older name (the same options and output; the code is `kerashg.evaluation`)."""

import sys

from kerashg.evaluate import main

if __name__ == "__main__":
    sys.exit(main())
