"""Execute an experiment: plan its cells, train and evaluate them (resumable, shardable), estimate cost."""
