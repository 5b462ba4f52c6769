"""``wandel fetch``: a table from the GENESIS web service, cached, then imported like a download.

The steps:

1. the credentials of the database, from the environment (``WANDEL_<DATABASE>_USER`` and
   ``..._PASSWORD``, :func:`wandel.settings.genesis_credentials`) or else the system keyring
   (service ``wandel-<database>``, when the ``keyring`` package is installed); never from the
   command line, never written anywhere;
2. the local cache (``<cache dir>/genesis/<sha256 of the request>.<suffix>``): the same request
   (database, base URL, table, years, regions, format; not the credentials) is answered from it
   without asking the service, unless ``refresh``;
3. otherwise :func:`wandel.sources.genesis_api.fetch_table` (retries with backoff; the service's
   refusals as clear errors) and an atomic write into the cache;
4. the file is read by content and written with :func:`wandel.workflow.data.write_batches`, the
   same path as ``wandel import`` (one transaction with the derived data); its provenance record
   names the request (``genesis:12411-0018?startyear=2015&endyear=2017&format=csv``).

A file fetched and the same file downloaded by hand and imported give the same rows.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from wandel.errors import MissingCredentialsError
from wandel.settings import Credentials, genesis_credentials, get_settings
from wandel.sources.genesis_api import DATABASES, RetryPolicy, TableRequest, fetch_table
from wandel.store import ImportReport
from wandel.workflow.data import ImportOptions, read_files, write_batches

__all__ = ["FetchResult", "cached_file", "credentials_for", "fetch_into_store"]


@dataclass(frozen=True, eq=False)
class FetchResult:
    """What one fetch did: the cached file, whether it came from the cache, the attempts it took
    at the service (0 from the cache), and the import reports."""

    path: Path
    from_cache: bool
    attempts: int
    reports: list[ImportReport]


def credentials_for(database: str) -> Credentials:
    """The credentials of ``database``: the environment first, then the system keyring.

    Raises
    ------
    MissingCredentialsError
        Neither has a user for ``database``.
    """
    found = genesis_credentials(database)
    if found is not None:
        return found
    cred = _from_keyring(f"wandel-{database}")
    if cred is not None:
        return cred
    raise MissingCredentialsError(
        "@error.fetch.credentials",
        database=DATABASES[database].name,
        env=database.upper(),
        key=database,
    )


def _from_keyring(service: str) -> Credentials | None:
    """The credentials stored under ``service`` in the system keyring (``keyring set SERVICE
    USER``), if the optional ``keyring`` package is installed and has a backend."""
    try:
        keyring: Any = importlib.import_module("keyring")
        cred = keyring.get_credential(service, None)
    except ImportError:
        return None
    except Exception as exc:  # keyring.errors.KeyringError (no usable backend) and its kin
        if type(exc).__module__.startswith("keyring"):
            return None
        raise
    if cred is None or not cred.username:
        return None
    return Credentials(str(cred.username), str(cred.password or ""))


def cached_file(request: TableRequest, base_url: str, cache_dir: Path) -> Path | None:
    """The cached answer to ``request``, if there is one."""
    folder = cache_dir / "genesis"
    key = request.cache_key(base_url)
    for suffix in (".csv", ".zip", ".xlsx"):
        p = folder / f"{key}{suffix}"
        if p.is_file():
            return p
    return None


def _store_in_cache(content: bytes, target: Path) -> Path:
    """Write ``content`` to ``target`` atomically (a temporary file beside it, then a rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".partial-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(content)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def fetch_into_store(
    db: Path,
    request: TableRequest,
    *,
    base_url: str | None = None,
    refresh: bool = False,
    retry: RetryPolicy | None = None,
) -> FetchResult:
    """Fetch ``request`` (from the cache if there) and import it into the store at ``db``.

    Raises
    ------
    MissingCredentialsError
        No credentials for the database (only asked when the cache cannot answer).
    wandel.errors.FetchError
        The service refused the request (its words in the message) or stayed busy.
    wandel.errors.WandelError
        The answer is not a table Wandel reads (nothing is written to the store).
    """
    url = (base_url or DATABASES[request.database].base_url).rstrip("/")
    cache_dir = get_settings().cache_dir
    path = None if refresh else cached_file(request, url, cache_dir)
    attempts = 0
    if path is None:
        answer = fetch_table(request, credentials_for(request.database), base_url=url, retry=retry)
        attempts = answer.attempts
        target = cache_dir / "genesis" / f"{request.cache_key(url)}{answer.suffix}"
        try:
            batches = read_files([_store_in_cache(answer.content, target)], ImportOptions(), db=db)
        except BaseException:
            target.unlink(missing_ok=True)  # a refused answer is not kept for the next call
            raise
        path = target
    else:
        batches = read_files([path], ImportOptions(), db=db)
    label = request.label()
    batches = [replace(b, meta=replace(b.meta, file=label)) for b in batches]
    return FetchResult(path, attempts == 0, attempts, write_batches(db, batches))
