"""Training: data, steps (plain and gradient-cached), distributed gathering, checkpoints, the trainer."""
