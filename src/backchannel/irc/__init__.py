"""The only layer that touches IRC sockets."""
