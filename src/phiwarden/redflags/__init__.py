"""Red flags of identity theft: the catalogue, detectors and registration screening."""
