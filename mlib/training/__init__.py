"""Layer 3, training: the SlowFast model, the recipes, the clips a run reads, one training run, the throughput bench."""
