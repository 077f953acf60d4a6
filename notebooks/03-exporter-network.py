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
#     display_name: Python (exportrisk)
#     language: python
#     name: exportrisk
# ---

# %% [markdown]
# # The exporter network
#
# Component X of the score asks whether a licence's exporter, or a company tied to it by ownership, a merger,
# a sales arm or a rebrand, had been linked to documented surveillance misuse before the licence was decided.
# The network is curated (`exportrisk/curated/`), every relation dated as far as the sources allow and cited.

# %%
# %matplotlib inline
import networkx as nx
from IPython.display import display
from matplotlib.figure import Figure

import exportrisk as er
from exportrisk.scoring import network

# %% tags=["parameters"]
entity = "N.S.O. Group"  # a name, alias or entity_id: names are matched as the licences' exporters are
day = "2020-01-01"  # the network as it stood on this day
earlier = "2013-01-01"  # and on this one

# %%
family = er.vendor_network(entity)

# %% [markdown]
# ## The family
#
# Every entity ever linked to it, arrows reading "subject relation object" (Q Cyber *parent_of* NSO), each
# labelled with its kind and reported period; investors in red. An undated relation counts at any date.

# %%
centre = er.find_entity(entity)
undirected = family.to_undirected(as_view=True)
hops = nx.single_source_shortest_path_length(undirected, centre)
order = list(nx.dfs_preorder_nodes(undirected, centre))  # each company beside those it is tied to
rings = nx.shell_layout(family, [[n for n in order if hops[n] == ring] for ring in range(max(hops.values()) + 1)])
position = nx.spring_layout(family, pos=rings, fixed=[centre], seed=1, k=0.6)
labels: dict[tuple[str, str], list[str]] = {}
for subject, obj, relation in family.edges(data=True):
    labels.setdefault((subject, obj), []).append(network.relation_label(relation))
with er.plots.styled():
    fig = Figure(figsize=(10, 8), layout="tight")
    ax = fig.subplots()
    ax.set_axis_off()
    ax.set_title(f"{family.nodes[centre]['name']} and every entity ever linked to it")
    colours = ["#fc5b2e" if kind == "investor" else "#fede80" for _, kind in family.nodes(data="entity_type")]
    nx.draw_networkx(family, position, ax=ax, with_labels=False, node_color=colours, node_size=250)
    plate = {"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1}
    nx.draw_networkx_labels(family, position, dict(family.nodes(data="name")), ax=ax, font_size=7, bbox=plate)
    edge_labels = {pair: "\n".join(texts) for pair, texts in labels.items()}
    nx.draw_networkx_edge_labels(nx.DiGraph(family), position, edge_labels, ax=ax, font_size=6, label_pos=0.6)
display(fig)

# %% [markdown]
# ## Affiliates on a day
#
# The relations in force on the day, in either direction and at any distance, nearest first, with the path
# that links each entity.

# %%
now = er.affiliates(entity, day)
er.display(now[["name", "hops", "relation_kinds", "path"]])

# %% [markdown]
# Earlier, before the 2014 merger and buy-out, fewer companies were linked:

# %%
before = er.affiliates(entity, earlier)
er.display(now[~now["entity_id"].isin(before["entity_id"])][["name", "relation_kinds", "path"]])

# %% [markdown]
# ## Licences whose exporter is in the network
#
# Licence lines whose named exporter is linked, through the relations in force at the decision, to evidence
# of misuse published before it. Most sources do not name exporters, so few lines can be linked at all.

# %%
licences = er.load("licences")
linked = er.load("score_lines").dropna(subset=["network_path"])
linked = linked.merge(licences[["licence_id", "line_no", "licensing_country_code", "exporter_name"]])
er.display(
    linked[["licence_id", "licensing_country_code", "exporter_name", "as_of_date", "score", "band", "network_path"]]
)
