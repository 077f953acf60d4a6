# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
# The country report template: `exportrisk report --country NLD --role licensing` runs it per country with
# papermill and publishes it as HTML without code. Everything it states is computed by
# exportrisk.reporting.sections; this notebook only lays it out and writes the files (figures/, tables/,
# provenance.json). Edit the .py file beside it (jupytext keeps the pair in sync); the .ipynb is committed
# without outputs.
country = "BGR"  # ISO 3166 alpha-3 code, or a country name the mappings know
role = "licensing"  # licensing: what the state licensed; destination: what was licensed to it
period = ""  # decision years: "" (all), "2014", "2010-2015", "2010-" or "-2015"
data_dir = ""  # folder holding raw/ and processed/; "" is the project's data/
output_dir = ""  # where the report's files go; "" is reports/<role>/<ISO3>/
png = False  # also save each chart as PNG (200 dpi) beside its SVG and PDF, for systems that refuse SVG

# %%
from IPython.display import HTML, Markdown, display

from exportrisk.reporting import figures
from exportrisk.reporting import runner as report_runner
from exportrisk.reporting import sections as reports

spec = reports.check_parameters(country, role, period)
report, out = report_runner.prepare(spec, data_dir, output_dir)

# %%
display(Markdown(f"# {report.title}"))
display(HTML(figures.html_table(reports.headline_table(report))))
display(Markdown(reports.caveats_text(report)))

# %%
for section in report.sections:
    display(Markdown(f"## {section.title}\n\n{section.text}"))
    svg = figures.write_section(section, report, out, png)
    if svg is not None:
        display(HTML(figures.chart_html(svg, section.title)))
    display(HTML(figures.html_table(section.display_table)))

# %%
display(Markdown(reports.provenance_text(report)))
display(HTML(figures.html_table(report.sources)))
display(HTML(figures.html_table(report.checksums, max_rows=100)))
report_runner.write_provenance(report, out)
