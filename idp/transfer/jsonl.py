"""Streaming a realm's users in and out as JSON Lines.

Import reads the file line by line and never holds more than one batch: each line is checked
whole (``records.check_user``, then the batch's addresses and ids against the database in one
query) before anything of it is written; the batch is written and committed together, with
one ``user.imported`` event naming its users. A bad line is reported (line number, reason) and
skipped, as Auth0's and Keycloak's imports do; the lines around it are imported. A user is all
or nothing: when a batch's commit fails (another process created one of its addresses
meanwhile), the batch is rolled back and its users are written again one by one, so each either
lands whole or is reported. ``dry_run`` runs every check and writes nothing.

Only the keys of the users seen so far (email key and id) are kept across batches, to find a
user listed twice in one file."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from ..events import record_event
from ..extensions import db
from ..models import Authenticator, Realm, User
from .records import (CheckedUser, Rejected, check_user, existing_identities, export_user, identity_keys,
                      parse_line, write_user)

DEFAULT_BATCH_SIZE = 1000


@dataclass
class ImportReport:
    lines: int = 0
    imported: int = 0
    rejected: int = 0
    dry_run: bool = False

    def summary(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        return f"{verb} {self.imported} user(s), rejected {self.rejected} line(s) of {self.lines}"


def import_users(realm, lines: Iterable[bytes], *, dry_run: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                 new_ids: bool = False, on_rejected: Callable[[int, str], None] | None = None) -> ImportReport:
    """Import the users of ``lines`` (bytes, as read from a file opened in binary) into
    ``realm``; ``on_rejected(line_number, reason)`` hears each refused line. Commits each batch
    (unless ``dry_run``). ``new_ids`` ignores the lines' ids (users copied between realms of
    one server, where ids are taken)."""
    report = ImportReport(dry_run=dry_run)
    realm_id = realm.id
    seen: dict[str, int] = {}
    batch: list[CheckedUser] = []

    def reject(number: int, reason: str) -> None:
        report.rejected += 1
        if on_rejected is not None:
            on_rejected(number, reason)

    def write(batch):
        refused = existing_identities(realm_id, batch)
        for checked in batch:
            if checked.line in refused:
                reject(checked.line, refused[checked.line])
        batch = [checked for checked in batch if checked.line not in refused]
        if dry_run:
            report.imported += len(batch)
            return db.session.get(Realm, realm_id)
        return _write_batch(realm_id, batch, report, reject)

    for number, raw in enumerate(lines, start=1):
        report.lines = number
        try:
            data = parse_line(raw.rstrip(b"\r\n"), number)
            if data is None:
                continue
            checked = check_user(realm, data, number, new_ids=new_ids)
            for key in identity_keys(checked):
                if key in seen:
                    what = "email" if key.startswith("email:") else "id"
                    raise Rejected(f"the same {what} is on line {seen[key]} of this file")
        except Rejected as error:
            reject(number, str(error))
            continue
        for key in identity_keys(checked):
            seen[key] = number
        batch.append(checked)
        if len(batch) >= batch_size:
            realm = write(batch)
            batch = []
    if batch:
        write(batch)
    if dry_run:
        db.session.rollback()
    return report


def _write_users(realm, batch: list[CheckedUser]) -> None:
    users = [write_user(realm, checked) for checked in batch]
    if users:
        record_event("user.imported", realm=realm, count=len(users), user_ids=[user.id for user in users])
    db.session.commit()


def _write_batch(realm_id: int, batch: list[CheckedUser], report: ImportReport, reject) -> Realm:
    try:
        _write_users(db.session.get(Realm, realm_id), batch)
        report.imported += len(batch)
    except IntegrityError:
        db.session.rollback()
        for checked in batch:
            try:
                _write_users(db.session.get(Realm, realm_id), [checked])
                report.imported += 1
            except IntegrityError:
                db.session.rollback()
                reject(checked.line, "an account with this email or id already exists")
    # the written users are done with: keep the session (and memory) small on long imports
    db.session.expunge_all()
    return db.session.get(Realm, realm_id)


def export_users(realm, write: Callable[[str], object], *, batch_size: int = DEFAULT_BATCH_SIZE) -> int:
    """Write one line per user of ``realm`` (ordered by id) through ``write``, reading
    ``batch_size`` users and their credentials at a time; returns how many."""
    realm_id, after, count = realm.id, "", 0
    while True:
        users = list(db.session.scalars(db.select(User).where(User.realm_id == realm_id, User.id > after)
                                        .order_by(User.id).limit(batch_size)))
        if not users:
            return count
        credentials: dict[str, list[Authenticator]] = {}
        rows = db.session.scalars(db.select(Authenticator).where(Authenticator.user_id.in_([u.id for u in users]))
                                  .order_by(Authenticator.created_at, Authenticator.id))
        for row in rows:
            credentials.setdefault(row.user_id, []).append(row)
        for user in users:
            write(json.dumps(export_user(user, credentials.get(user.id, [])), ensure_ascii=False) + "\n")
        count += len(users)
        after = users[-1].id
        db.session.expunge_all()
