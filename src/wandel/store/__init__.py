"""The embedded store: one DuckDB file holding the canonical tables and their provenance.

>>> from wandel.store import Store
>>> with Store.open(":memory:") as store:
...     sorted(store.counts())[:3]
['births', 'boundaries', 'care']
"""

from wandel.store.store import ImportReport, Store

__all__ = ["ImportReport", "Store"]
