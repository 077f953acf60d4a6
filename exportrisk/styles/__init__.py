"""Matplotlib styles shipped with exportrisk, loadable by dotted name: ``exportrisk.styles.exportrisk``."""
