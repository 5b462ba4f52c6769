"""Click's own messages in the language of the call: usage mistakes and the words of ``--help``.

Typer (on its copy of Click) writes its messages in English ("No such option: --foo",
"Missing option '--zones'.", "Invalid value for '--draws': ..."), and Pydantic, which checks the
values, adds its own English reasons. Wandel speaks German by default, so a mistake on the command
line is translated here before it is printed. The messages are matched by their published wording
(each pattern below quotes the English sentence it reads); a message no pattern knows stays as
Click wrote it, so nothing is ever lost, it is only left untranslated.

The words of the help page that Typer keeps as module constants (``[required]``,
``[default: ...]``, the ``Usage:`` prefix) are set for the language of each call by
:func:`translate_help_words`.
"""

from __future__ import annotations

import re
from typing import Any

from wandel.i18n import tr

__all__ = ["translate_help_words", "translate_usage"]

#: (pattern of Click's or Pydantic's English sentence, catalogue key) in the order they are tried;
#: the named groups fill the key's placeholders. Each key is in ``data/i18n/cli_usage.yaml``.
_SENTENCES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (
            r"^No such option: (?P<option>\S+) \(Possible options: (?P<choices>.+)\)$",
            "cli.usage.no_such_option_choices",
        ),
        (
            r"^No such option: (?P<option>\S+?)(?: Did you mean (?P<choice>\S+?)\?)?$",
            "cli.usage.no_such_option",
        ),
        (
            r"^No such command (?P<command>'[^']*')\. Did you mean (?P<choice>'[^']*')\?$",
            "cli.usage.no_such_command_choice",
        ),
        (r"^No such command (?P<command>'[^']*')\.$", "cli.usage.no_such_command"),
        (r"^Missing command\.$", "cli.usage.missing_command"),
        (r"^Missing option (?P<name>'[^']*')\.(?P<rest>.*)$", "cli.usage.missing_option"),
        (r"^Missing argument (?P<name>'[^']*')\.(?P<rest>.*)$", "cli.usage.missing_argument"),
        (r"^Missing parameter:? (?P<name>\S+)\.?$", "cli.usage.missing_parameter"),
        (r"^Option (?P<option>'[^']*') requires an argument\.$", "cli.usage.requires_value"),
        (
            r"^Option (?P<option>'[^']*') requires (?P<count>\d+) arguments\.$",
            "cli.usage.requires_values",
        ),
        (r"^Option (?P<option>'[^']*') does not take a value\.$", "cli.usage.takes_no_value"),
        (r"^Argument (?P<name>'[^']*') takes (?P<count>\d+) values\.$", "cli.usage.takes_values"),
        (r"^Got unexpected extra arguments? \((?P<args>.*)\)$", "cli.usage.extra_arguments"),
        (r"^Invalid value for (?P<name>.+?): (?P<reason>.+)$", "cli.usage.invalid_value"),
        (r"^Invalid value: (?P<reason>.+)$", "cli.usage.invalid_value_bare"),
    )
)

#: Reasons inside "Invalid value for ...: <reason>" (Pydantic's and Typer's wording).
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), key)
    for pattern, key in (
        (r"^Input should be a valid integer.*$", "cli.usage.reason.integer"),
        (r"^Input should be a valid number.*$", "cli.usage.reason.number"),
        (r"^Input should be a valid boolean.*$", "cli.usage.reason.boolean"),
        (
            r"^Input should be (?P<bound>greater than or equal to|greater than|less than or equal to"
            r"|less than) (?P<limit>\S+)$",
            "cli.usage.reason.bound",
        ),
        (r"^(?P<value>'[^']*') is not one of (?P<choices>.+)\.$", "cli.usage.reason.choice"),
        (r"^Value (?P<value>'[^']*') is not a valid (?P<kind>\w+)\.$", "cli.usage.reason.kind"),
        (
            r"^(?P<label>File|Directory|Path) (?P<value>'[^']*') does not exist\.$",
            "cli.usage.reason.missing_path",
        ),
        (
            r"^(?P<label>File|Directory|Path) (?P<value>'[^']*') is a directory\.$",
            "cli.usage.reason.is_directory",
        ),
        (
            r"^(?P<label>File|Directory|Path) (?P<value>'[^']*') is a file\.$",
            "cli.usage.reason.is_file",
        ),
        (
            r"^(?P<label>File|Directory|Path) (?P<value>'[^']*') is not readable\.$",
            "cli.usage.reason.not_readable",
        ),
        (
            r"^(?P<label>File|Directory|Path) (?P<value>'[^']*') is not writable\.$",
            "cli.usage.reason.not_writable",
        ),
    )
)

_BOUNDS = {
    "greater than or equal to": "ge",
    "greater than": "gt",
    "less than or equal to": "le",
    "less than": "lt",
}
_LABELS = {"File": "file", "Directory": "directory", "Path": "path"}


def _reason(text: str, lang: str) -> str:
    """One of Pydantic's or Typer's reasons in ``lang``; unknown ones as written."""
    for pattern, key in _REASONS:
        match = pattern.match(text)
        if match is None:
            continue
        fields = match.groupdict()
        if "bound" in fields:
            fields["bound"] = tr(f"cli.usage.bound.{_BOUNDS[fields['bound']]}", lang)
        if "label" in fields:
            fields["label"] = tr(f"cli.usage.label.{_LABELS[fields['label']]}", lang)
        return tr(key, lang, **fields)
    return text


def translate_usage(text: str, lang: str) -> str:
    """Click's message ``text`` (one line) in ``lang``.

    English is Click's own wording and passes unchanged; a sentence no pattern knows stays as it is.

    >>> translate_usage("No such option: --foo (Possible options: --out)", "de")
    'Unbekannte Option --foo (möglich: --out)'
    >>> translate_usage("Invalid value for '--draws': Input should be a valid integer, "
    ...                 "unable to parse string as an integer", "de")
    "Ungültiger Wert für '--draws': eine ganze Zahl wird erwartet"
    >>> translate_usage("Missing option '--zones'.", "en")
    "Missing option '--zones'."
    """
    if lang == "en":
        return text
    for pattern, key in _SENTENCES:
        match = pattern.match(text)
        if match is None:
            continue
        fields = {k: (v or "") for k, v in match.groupdict().items()}
        if "reason" in fields:
            fields["reason"] = _reason(fields["reason"], lang)
        if "rest" in fields:
            rest = _reason(fields["rest"].strip(), lang)
            fields["rest"] = f" {rest}" if rest else ""
        if key == "cli.usage.no_such_option" and fields.get("choice"):
            key = "cli.usage.no_such_option_choice"
        return tr(key, lang, **fields)
    return text


def translate_help_words(lang: str) -> None:
    """Set the words Typer's help page takes from module constants to ``lang``.

    Typer reads them when it prints the help, so setting them at the start of each call gives the
    call's language (the CLI runs one call per process; tests run several in turn).
    """
    try:
        import typer.rich_utils as rich_utils
        from typer._click import formatting
    except ImportError:  # pragma: no cover - another typer: keep its English words
        return
    rich_utils.REQUIRED_LONG_STRING = tr("cli.usage.help.required", lang)
    rich_utils.DEFAULT_STRING = tr("cli.usage.help.default", lang)
    rich_utils.ENVVAR_STRING = tr("cli.usage.help.envvar", lang)
    rich_utils.DEPRECATED_STRING = tr("cli.usage.help.deprecated", lang)
    rich_utils.ERRORS_PANEL_TITLE = tr("error", lang)
    rich_utils.ABORTED_TEXT = tr("cli.aborted", lang)
    _set_usage_prefix(formatting, tr("cli.usage.help.usage", lang))


def _set_usage_prefix(formatting: Any, prefix: str) -> None:
    """Make ``HelpFormatter.write_usage`` start with ``prefix`` instead of ``"Usage: "``."""
    original = getattr(formatting.HelpFormatter, "_wandel_write_usage", None)
    if original is None:
        original = formatting.HelpFormatter.write_usage
        formatting.HelpFormatter._wandel_write_usage = original

    def write_usage(self: Any, prog: str, args: str = "", prefix_: str | None = None) -> None:
        original(self, prog, args, prefix if prefix_ is None else prefix_)

    formatting.HelpFormatter.write_usage = write_usage
