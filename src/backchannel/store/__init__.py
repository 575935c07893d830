"""Storage: accounts, sessions, networks and scrollback (SQLite by default)."""
