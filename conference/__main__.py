"""Allow ``python -m conference``."""

from conference.cli import main

raise SystemExit(main())
