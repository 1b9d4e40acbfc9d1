"""``python -m numbacnn``: see :mod:`numbacnn.cli`."""

from numbacnn.cli import main

raise SystemExit(main())
