"""Publishing the processed tables as people consume them: a Frictionless data package (CSV and Parquet) and
one SQLite database for Datasette, both byte-identical across runs and neither naming a victim."""
