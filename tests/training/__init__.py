"""Trainer, sampler, loss and distributed tests."""
