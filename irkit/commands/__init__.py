"""Sub-commands of the ``irkit`` CLI; each module exposes ``add_parser(subparsers)``."""
