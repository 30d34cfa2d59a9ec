"""Subcommands of ``tao-pointpillars``; each module has ``add_arguments(parser)`` and ``run(args)``."""
