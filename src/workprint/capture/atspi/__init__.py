"""The accessibility bus (AT-SPI over D-Bus) for Linux backends.

``bus``: the client, the only module here that speaks D-Bus (jeepney). ``targets``: the
heuristics on top of it (which accessible a click or a key chose, password fields) and the
worker thread that runs them off the input path.
"""
