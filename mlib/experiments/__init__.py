"""Layer 4, experiments over many runs: the grid, ensembles, the solver pair, the hand-crafted baseline, the controls."""
