"""Open-set biometrics beyond the paper (issue 22): people the network never saw.

``measures``: verification (ROC, DET, EER, FNMR at FMR) and open-set identification
(DIR at FPIR, CMC), each with an interval that resamples probe subjects;
``protocol``: the subject-disjoint ``open-set`` split; ``scores``: embeddings and
cosine score matrices of a run or of baseline features; ``gallery``: ``mlib enroll``
and ``mlib identify``; ``embedder``: a run's embedding frozen into the gallery (ONNX run
by OpenCV) so that ``mlib identify`` needs no torch.
"""
