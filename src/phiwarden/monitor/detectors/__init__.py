"""One module per detector; :mod:`phiwarden.monitor.catalogue` lists them in order."""
