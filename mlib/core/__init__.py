"""Layer 0, the foundation: configuration, atomic files, identification metrics, the import reader (imports nothing of mlib above it)."""
