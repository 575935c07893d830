"""Sessions: who owns which IRC connections."""
