"""phiwarden: protect patients from medical identity theft and privacy breaches."""

__version__ = "0.1.0"
