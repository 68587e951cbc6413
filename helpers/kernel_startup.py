"""Run by every kernel ``make lab`` starts (its PYTHONSTARTUP), so that a cell run right after a kernel restart,
before the notebook's imports cell, says which cells to run instead of failing on the imports cell's names:
``needs`` is defined and the ``%%calls``/``%calls`` magics of :mod:`helpers.under_the_hood` are registered (without
marking the extension loaded, so the imports cell's ``%load_ext`` stays silent). Plain Python is left alone."""
from __future__ import annotations

import sys

if "ipykernel" in sys.modules:
    from IPython import get_ipython

    from helpers import under_the_hood
    from helpers.needs import needs  # noqa: F401 - defined in the kernel's namespace for the notebook's cells

    under_the_hood.load_ipython_extension(get_ipython())
