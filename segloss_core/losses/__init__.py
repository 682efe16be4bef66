"""Loss functions, one module per family. Use :mod:`segloss_core.registry` to look them up."""
