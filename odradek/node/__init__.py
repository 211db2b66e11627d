"""What every process shares: config, CLI, lifecycle, listeners, request dispatch,
metrics, logging."""
