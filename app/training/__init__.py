"""Training Gatescope's models on the engine's BPTT: tasks, loop, metrics, shipped models."""
