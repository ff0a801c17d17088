"""Sub-commands of the ``xrdkit`` CLI; each module exposes ``add_parser(subparsers)``."""
