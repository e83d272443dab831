"""stockpilot: inventory optimization and inventory governance.

Layers (imports point one way)::

    core -> engine -> io / store -> services -> api / web / cli

``core`` is pure mathematics (arrays in, typed results out); nothing in it touches
files, settings, databases or the web.
"""

__version__ = "0.1.0"
