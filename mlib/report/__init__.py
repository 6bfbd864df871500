"""Layer 5, the report: results read back from run files, the claims' verdicts, takeaways, provenance, the study's cost."""
