"""Comparison across a network of towns: indicators, networks, peers, typology, strengths and
weaknesses, and the practice exchange. See ``README.md`` in this folder."""
