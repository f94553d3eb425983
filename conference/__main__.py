"""Allow ``python -m conference``.

The one module of ``conference/`` that imports the composition root
(``server``): the command line lives there because it wires every part, and
``python -m conference`` is how operators and the tests have always run it.
tests/test_layers.py allows exactly this file.
"""

from server.cli import main

raise SystemExit(main())
