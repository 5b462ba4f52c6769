"""Reports: charts and tables for people (figures written with matplotlib, Agg backend)."""
