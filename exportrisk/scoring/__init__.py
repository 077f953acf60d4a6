"""Scoring licence lines: components, floors and bands, the exporter network, sensitivity, back-tests."""
