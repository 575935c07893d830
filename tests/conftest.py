pytest_plugins = ["tests.support.ircd_fixtures"]
