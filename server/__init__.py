"""The composition root: builds the conference and its parts, the web app and the CLI.

The one package that may import every other (``conference``, ``web``,
``recorder``, ``anpr_feed``); nothing imports it, except
``conference/__main__.py`` so that ``python -m conference`` keeps working.
"""
