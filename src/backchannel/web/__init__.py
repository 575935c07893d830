"""The web layer: HTTP handlers over the session layer."""
