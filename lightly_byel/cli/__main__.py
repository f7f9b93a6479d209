"""``python -m lightly_byel.cli``: the ``lightly-byel`` command without its script."""

import sys

from lightly_byel.cli.main import main

sys.exit(main())
