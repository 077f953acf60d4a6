"""Country reports: sections as pure functions, charts, figures on disk, the papermill runner."""
