"""Raw sources to validated canonical tables: fetch, read each source, clean, reject with a reason."""
