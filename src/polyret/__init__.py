"""polyret: train and evaluate multilingual dense retrievers with hybrid batch training."""

__version__ = "0.1.0"
