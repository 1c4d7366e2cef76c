"""ML pipeline for spotify-redux: data readers, SVD training with sampled negatives,
evaluation against baselines, FAISS index building and versioned artifacts.

Pure Python + numpy/scipy/surprise/faiss. This package never imports Django; the management
commands in ``recommendations/management/commands`` are thin wrappers around it.
"""
