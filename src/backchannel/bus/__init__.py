"""Fan-out of stored events to subscribers."""
