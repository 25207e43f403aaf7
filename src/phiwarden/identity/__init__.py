"""One person across records: normalisation, Splink linkage and the real-time matcher."""
