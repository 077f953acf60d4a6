"""exportrisk: screen export licences for human-rights risk."""

__version__ = "0.1.0"
