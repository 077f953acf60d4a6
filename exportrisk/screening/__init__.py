"""Screening export applications before the decision: one application in, a reasoned, sourced memo out.

``applications`` reads and checks applications (flags or a CSV) and turns them into licence lines;
``findings`` gathers what a licensing officer needs on the application's date (score and reason, the
destination's evidence, the exporter's network, similar exporters, precedent, what would change the band);
``memo`` renders it as HTML and PDF; ``run`` ties them to the project's processed tables and writes the
outputs. Scores come from exportrisk.scoring.score.score_against, the pipeline's one scorer.
"""
