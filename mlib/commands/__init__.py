"""Layer 7, the ``mlib`` command line: the dispatcher (``cli``) and one module per sub-command; only this layer parses arguments."""
