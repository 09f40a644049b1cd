"""One module per config section; each owns its keys, defaults and documentation."""
