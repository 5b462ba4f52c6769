"""The web app (``wandel serve``): server-rendered German pages with an English switch, a JSON
twin of every page, and every read through one door (:class:`wandel.web.reader.Reader`).

The web floor imports the workflow and the layers below it, never the CLI.
"""

from wandel.web.app import create_app
from wandel.web.reader import Caller, Reader

__all__ = ["Caller", "Reader", "create_app"]
