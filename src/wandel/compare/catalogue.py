"""The indicator catalogue: what each indicator means, its unit, direction and source, and how it is
computed.

The catalogue is a YAML file shipped with the package (``wandel/data/compare/indicators.yaml``); its
texts (name, the phrase used in sentences, definition, source, the words for high and low values) live
in the text catalogue ``wandel/data/i18n/compare.yaml`` under ``compare.ind.<text>.*``. An entry:

.. code-block:: yaml

    median_age:
      function: median_age        # a registered function, or "package.module:function"
      unit: years                 # a key of compare.unit.* (years, share, per_1000, ...)
      direction: lower_better     # higher_better | lower_better | neutral
      group: structure            # structure, size, change, natural, migration, health, projection, ...
      needs: [population]         # tables of IndicatorInputs (or of its extra) it reads
      peer: linear                # in the default peer and typology features: linear | log10
      fields: [senioren, familie] # fields of the measures register that answer a weakness
      decimals: 1
      params: {}                  # keyword arguments for the function (and the text placeholders)
      profile: true               # in the strengths-weaknesses profile (default true)

**Adding an indicator** (e.g. a service indicator from :mod:`wandel.services`) takes one entry here
and one function ``f(inputs: IndicatorInputs, **params) -> DataFrame`` returning ``zone, year, value,
estimated`` (optionally ``base_year``), registered with :func:`indicator_function` or named by its
dotted path; its texts go into ``compare.yaml``. An indicator whose ``needs`` are absent is reported
as unavailable, never computed from nothing.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pandas as pd
import yaml

from wandel.compare.inputs import IndicatorInputs, level_of_zone
from wandel.errors import IndicatorCatalogueError, UnknownIndicatorError
from wandel.i18n import tr

__all__ = [
    "DIRECTIONS",
    "Indicator",
    "IndicatorFunction",
    "IndicatorTable",
    "compute_indicators",
    "indicator_function",
    "load_catalogue",
    "resolve_keys",
]

DIRECTIONS: tuple[str, ...] = ("higher_better", "lower_better", "neutral")
"""How a value reads: a higher value is better, worse (``lower_better``), or neither."""

IndicatorFunction = Callable[..., pd.DataFrame]
"""``f(inputs, **params) -> DataFrame`` with columns ``zone, year, value, estimated[, base_year]``."""

_FUNCTIONS: dict[str, IndicatorFunction] = {}

VALUE_COLUMNS = [
    "zone",
    "name",
    "level",
    "indicator",
    "year",
    "base_year",
    "value",
    "unit",
    "estimated",
]
"""Columns of :attr:`IndicatorTable.values`."""


def indicator_function(name: str) -> Callable[[IndicatorFunction], IndicatorFunction]:
    """Register ``f`` under ``name`` for catalogue entries with ``function: name``."""

    def register(f: IndicatorFunction) -> IndicatorFunction:
        _FUNCTIONS[name] = f
        return f

    return register


def _ages_text(params: Mapping[str, Any]) -> str:
    lo, hi = params.get("age_start"), params.get("age_end")
    if lo is None:
        return ""
    return f"{lo}+" if hi is None else f"{lo}–{int(hi) - 1}"


@dataclass(frozen=True)
class Indicator:
    """One catalogue entry (see the module docstring for the fields)."""

    key: str
    function: str
    unit: str
    direction: str
    group: str
    needs: tuple[str, ...] = ("population",)
    peer: str | None = None
    fields: tuple[str, ...] = ()
    decimals: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)
    text_key: str = ""
    in_profile: bool = True

    def text(self, part: str, lang: str | None = None) -> str:
        """A text of this indicator: ``name``, ``label``, ``definition``, ``source``, ``high``, ``low``."""
        return tr(
            f"compare.ind.{self.text_key or self.key}.{part}", lang, ages=_ages_text(self.params)
        )

    def unit_text(self, lang: str | None = None) -> str:
        """The unit in words (``%``, ``Jahre``, ``je 1.000 Einwohner``, ...)."""
        return tr(f"compare.unit.{self.unit}", lang)

    def resolve(self) -> IndicatorFunction:
        """The function that computes this indicator."""
        if ":" in self.function:
            module, _, attr = self.function.partition(":")
            f: IndicatorFunction = getattr(importlib.import_module(module), attr)
            return f
        importlib.import_module("wandel.compare.indicators")  # registers the built-in functions
        if self.function not in _FUNCTIONS:
            raise IndicatorCatalogueError(
                "@compare.error.cat_function", key=self.key, function=repr(self.function)
            )
        return _FUNCTIONS[self.function]


def _entry(key: str, raw: Mapping[str, Any]) -> Indicator:
    known = {"function", "unit", "direction", "group", "needs", "peer", "fields", "decimals"}
    known |= {"params", "text", "profile"}
    extra = sorted(set(raw) - known)
    if extra:
        raise IndicatorCatalogueError(
            "@compare.error.cat_fields", key=key, fields=extra, known=sorted(known)
        )
    for must in ("function", "unit", "direction", "group"):
        if must not in raw:
            raise IndicatorCatalogueError("@compare.error.cat_missing", key=key, field=must)
    if raw["direction"] not in DIRECTIONS:
        raise IndicatorCatalogueError(
            "@compare.error.cat_direction",
            key=key,
            value=repr(raw["direction"]),
            allowed=list(DIRECTIONS),
        )
    if raw.get("peer") not in (None, "linear", "log10"):
        raise IndicatorCatalogueError(
            "@compare.error.cat_peer", key=key, value=repr(raw.get("peer"))
        )
    return Indicator(
        key=key,
        function=str(raw["function"]),
        unit=str(raw["unit"]),
        direction=str(raw["direction"]),
        group=str(raw["group"]),
        needs=tuple(raw.get("needs", ("population",))),
        peer=raw.get("peer"),
        fields=tuple(raw.get("fields", ())),
        decimals=int(raw.get("decimals", 1)),
        params=dict(raw.get("params") or {}),
        text_key=str(raw.get("text", key)),
        in_profile=bool(raw.get("profile", True)),
    )


@cache
def load_catalogue() -> Mapping[str, Indicator]:
    """The shipped indicator catalogue, in its order (loaded once per process)."""
    path = resources.files("wandel") / "data" / "compare" / "indicators.yaml"
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(k): _entry(str(k), v) for k, v in data["indicators"].items()}


def resolve_keys(
    keys: Sequence[str] | None, catalogue: Mapping[str, Indicator] | None = None
) -> list[str]:
    """Validated indicator keys (all when ``keys`` is empty); an unknown key names the closest."""
    cat = catalogue if catalogue is not None else load_catalogue()
    if not keys:
        return list(cat)
    out = []
    for k in keys:
        if k not in cat:
            close = difflib.get_close_matches(k, list(cat), n=3, cutoff=0.5)
            raise UnknownIndicatorError(
                "@compare.error.unknown_indicator" + ("_close" if close else ""),
                key=repr(k),
                close=", ".join(close),
                n=len(cat),
            )
        out.append(k)
    return out


@dataclass(frozen=True)
class IndicatorTable:
    """Indicator values of many zones, long (:data:`VALUE_COLUMNS`), with the catalogue used.

    Each value carries its reference ``year`` (and ``base_year`` for changes) and ``estimated``:
    whether it rests on an estimate (a Gemeinde age structure spread from its Kreis, a TFR or e0 by
    indirect standardisation, a projection). ``unavailable`` lists ``(indicator, reason)`` for
    indicators whose inputs the store lacks.
    """

    values: pd.DataFrame
    catalogue: Mapping[str, Indicator]
    unavailable: tuple[tuple[str, str], ...] = ()

    def wide(self, level: str, keys: Sequence[str] | None = None) -> pd.DataFrame:
        """``zone`` × indicator values of one level (columns in catalogue order)."""
        v = self.values[self.values["level"] == level]
        if keys is not None:
            v = v[v["indicator"].isin(list(keys))]
        w = v.pivot(index="zone", columns="indicator", values="value")
        cols = [k for k in self.catalogue if k in w.columns]
        return w[cols]

    def row(self, zone: str, key: str) -> pd.Series | None:
        """The value row of one zone and indicator, or None."""
        v = self.values
        hit = v[(v["zone"] == zone) & (v["indicator"] == key)]
        return None if hit.empty else hit.iloc[0]


def compute_indicators(
    inputs: IndicatorInputs,
    keys: Sequence[str] | None = None,
    catalogue: Mapping[str, Indicator] | None = None,
) -> IndicatorTable:
    """Compute the indicators ``keys`` (default: all) for every zone of ``inputs``.

    Examples
    --------
    >>> import pandas as pd
    >>> pop = pd.DataFrame({"zone": ["15087"] * 3, "year": 2020, "sex": "t",
    ...     "age_start": [0, 20, 65], "age_end": pd.array([20, 65, None], dtype="Int64"),
    ...     "value": [20_000.0, 70_000.0, 40_000.0], "estimated": False})
    >>> t = compute_indicators(IndicatorInputs(pop), ["share_65plus", "old_age_ratio"])
    >>> t.values[["zone", "indicator", "year", "value"]].round(4).to_dict("records")
    [{'zone': '15087', 'indicator': 'share_65plus', 'year': 2020, 'value': 0.3077}, \
{'zone': '15087', 'indicator': 'old_age_ratio', 'year': 2020, 'value': 57.1429}]
    """
    cat = catalogue if catalogue is not None else load_catalogue()
    wanted = resolve_keys(keys, cat)
    names = inputs.zone_list.set_index("zone")["name"]
    frames: list[pd.DataFrame] = []
    unavailable: list[tuple[str, str]] = []
    for key in wanted:
        ind = cat[key]
        missing = [n for n in ind.needs if not inputs.has(n)]
        if missing:
            unavailable.append((key, "no " + ", ".join(missing)))
            continue
        got = ind.resolve()(inputs, **ind.params)
        got = got[got["value"].notna() & got["zone"].isin(names.index)]
        if got.empty:
            unavailable.append((key, "no zone with the inputs"))
            continue
        frames.append(
            pd.DataFrame(
                {
                    "zone": got["zone"].astype(str).to_numpy(),
                    "indicator": key,
                    "year": got["year"].astype("int64").to_numpy(),
                    "base_year": (
                        got["base_year"].astype("Int64").to_numpy()
                        if "base_year" in got
                        else pd.array([None] * len(got), dtype="Int64")
                    ),
                    "value": got["value"].astype(float).to_numpy(),
                    "unit": ind.unit,
                    "estimated": got["estimated"].astype(bool).to_numpy(),
                }
            )
        )
    if frames:
        values = pd.concat(frames, ignore_index=True)
    else:
        values = pd.DataFrame({c: [] for c in VALUE_COLUMNS})
    values["name"] = values["zone"].map(names)
    values["level"] = values["zone"].map(level_of_zone)
    values = values[VALUE_COLUMNS].astype({"base_year": "Int64", "estimated": bool})
    return IndicatorTable(values.reset_index(drop=True), cat, tuple(unavailable))
