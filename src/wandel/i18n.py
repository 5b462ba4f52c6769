"""User-interface texts, German first, English available (``WANDEL_LANG=en`` or ``--lang en``)."""

from __future__ import annotations

__all__ = ["MESSAGES", "tr"]

MESSAGES: dict[str, dict[str, str]] = {
    "error": {"de": "Fehler", "en": "Error"},
    "store_unchanged": {
        "de": "Der Datenbestand ist unverändert.",
        "en": "The store is unchanged.",
    },
    "reading": {"de": "Lese", "en": "Reading"},
    "writing": {"de": "Schreibe", "en": "Writing"},
    "file": {"de": "Datei", "en": "File"},
    "kind": {"de": "Format", "en": "Format"},
    "rows_read": {"de": "Zeilen gelesen", "en": "Rows read"},
    "rows_imported": {"de": "importiert", "en": "imported"},
    "rejected": {"de": "ausgelassen (Grund)", "en": "left out (reason)"},
    "already": {"de": "bereits importiert", "en": "already imported"},
    "import_summary": {"de": "Import-Zusammenfassung", "en": "Import summary"},
    "store": {"de": "Datenbestand", "en": "Store"},
    "table": {"de": "Tabelle", "en": "Table"},
    "rows": {"de": "Zeilen", "en": "Rows"},
    "provenance": {"de": "Herkunft der Daten", "en": "Provenance"},
    "zones": {"de": "Gebiete", "en": "Zones"},
    "licence": {"de": "Lizenz", "en": "Licence"},
    "no_rows": {"de": "Keine Daten für diese Auswahl.", "en": "No data for this selection."},
    "incomplete_total": {
        "de": "Summe unvollständig (gesperrte oder fehlende Werte), Wert leer gelassen",
        "en": "total incomplete (suppressed or missing cells), value left empty",
    },
}


def tr(key: str, lang: str = "de") -> str:
    """The text for ``key`` in ``lang`` (falls back to German)."""
    entry = MESSAGES[key]
    return entry.get(lang, entry["de"])
