"""Backchannel: a self-hosted web IRC client."""

__version__ = "0.1.0"
