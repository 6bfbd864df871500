"""Layer 6, the study: the numbered notebooks executed for a profile (``runner``) through papermill (``notebooks``)."""
