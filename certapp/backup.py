"""Backup and restore of a whole installation: the database and the key files, in one archive.

An archive (.tar) holds:
  manifest.json  what it is: when, which database kind, the migration revision, the sha256 of
                 each member, and how the keys are encrypted;
  database.dump  PostgreSQL: pg_dump's custom format (restored with pg_restore), or
  database.sqlite  SQLite: a consistent copy made with SQLite's online backup API;
  keys.tar.enc   instance/keys as a tar, encrypted with a key derived from a passphrase
                 (CERTAPP_BACKUP_PASSPHRASE; scrypt, then Fernet: AES-128-CBC + HMAC-SHA256).

Without the keys a restored database is useless (QR codes, signatures and СНИЛС depend on
them), and without the passphrase the keys in a stolen archive are useless.
"""
import base64
import hashlib
import io
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import inspect, text

from certapp.db import db

FORMAT = "certapp-backup/1"
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
MIN_PASSPHRASE = 12


class BackupError(click.ClickException):
    """A refusal of backup or restore, with a Russian message."""


def _passphrase() -> str:
    value = os.environ.get("CERTAPP_BACKUP_PASSPHRASE", "")
    if len(value) < MIN_PASSPHRASE:
        raise BackupError(f"Задайте CERTAPP_BACKUP_PASSPHRASE (не короче {MIN_PASSPHRASE} символов): "
                          "ею шифруются ключи в архиве.")
    return value


def _fernet(passphrase: str, salt: bytes) -> Fernet:
    key = Scrypt(salt=salt, length=32, **SCRYPT).derive(passphrase.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _libpq(url) -> tuple[str, dict]:
    """A libpq URL without the password (kept out of the process list) and the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return plain, env


def _run(args: list[str], env: dict) -> None:
    try:
        subprocess.run(args, env=env, check=True, capture_output=True, text=True)
    except FileNotFoundError as error:
        raise BackupError(f"Не найдена программа {args[0]} (пакет postgresql-client).") from error
    except subprocess.CalledProcessError as error:
        raise BackupError(f"{args[0]} завершился с ошибкой: {error.stderr.strip()[-500:]}") from error


def _revision() -> str | None:
    return db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()


def create_backup(output: Path) -> dict:
    """Write the archive; returns its manifest."""
    passphrase = _passphrase()
    url = db.engine.url
    keys_dir = Path(current_app.config["KEYS_DIR"])
    if not keys_dir.is_dir() or not any(keys_dir.iterdir()):
        raise BackupError(f"Каталог ключей {keys_dir} пуст: копия без ключей бесполезна.")
    with tempfile.TemporaryDirectory(prefix="certapp-backup-") as tmp:
        work = Path(tmp)
        if url.get_backend_name() == "postgresql":
            db_file = work / "database.dump"
            plain, env = _libpq(url)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={db_file}", plain], env)
        else:
            db_file = work / "database.sqlite"
            db.session.remove()
            if not url.database:
                raise BackupError("База данных SQLite в памяти: копировать нечего.")
            source = sqlite3.connect(url.database)
            target = sqlite3.connect(db_file)
            try:
                source.backup(target)  # consistent even while the app writes
            finally:
                target.close()
                source.close()
        salt = secrets.token_bytes(16)
        keys_tar = io.BytesIO()
        with tarfile.open(fileobj=keys_tar, mode="w") as tar:
            tar.add(keys_dir, arcname="keys")
        keys_file = work / "keys.tar.enc"
        keys_file.write_bytes(_fernet(passphrase, salt).encrypt(keys_tar.getvalue()))
        manifest = {
            "format": FORMAT, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": url.get_backend_name(), "revision": _revision(),
            "keys": {"kdf": "scrypt", **SCRYPT, "salt": salt.hex(), "cipher": "fernet"},
            "files": {f.name: _sha256(f) for f in (db_file, keys_file)},
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False))
        output.parent.mkdir(parents=True, exist_ok=True)
        partial = output.with_name(output.name + ".partial")
        with tarfile.open(partial, "w") as tar:
            for name in ("manifest.json", db_file.name, keys_file.name):
                tar.add(work / name, arcname=name)
        os.chmod(partial, 0o600)
        partial.replace(output)
    return manifest


def _database_is_empty() -> bool:
    tables = set(inspect(db.engine).get_table_names())
    return not (tables - {"alembic_version"})


def restore_backup(archive: Path) -> dict:
    """Restore an archive into this (empty) database and this (empty) key directory."""
    passphrase = _passphrase()
    url = db.engine.url
    keys_dir = Path(current_app.config["KEYS_DIR"])
    if keys_dir.is_dir() and any(keys_dir.iterdir()):
        raise BackupError(f"Каталог ключей {keys_dir} не пуст: восстановление идёт только в пустой.")
    db.session.remove()
    if not _database_is_empty():
        raise BackupError("База данных не пуста: восстановление идёт только в пустую базу.")
    with tempfile.TemporaryDirectory(prefix="certapp-restore-") as tmp:
        work = Path(tmp)
        try:
            with tarfile.open(archive, "r") as tar:
                tar.extractall(work, filter="data")
            manifest = json.loads((work / "manifest.json").read_text())
        except (OSError, tarfile.TarError, ValueError) as error:
            raise BackupError(f"Архив не читается: {error}") from error
        if manifest.get("format") != FORMAT:
            raise BackupError("Это не архив certapp или он другой версии.")
        if manifest["database"] != url.get_backend_name():
            raise BackupError(f"Архив сделан с базы {manifest['database']}, а настроена {url.get_backend_name()}.")
        for name, digest in manifest["files"].items():
            if _sha256(work / name) != digest:
                raise BackupError(f"Файл {name} в архиве повреждён (контрольная сумма не сходится).")
        salt = bytes.fromhex(manifest["keys"]["salt"])
        try:
            keys_tar = _fernet(passphrase, salt).decrypt((work / "keys.tar.enc").read_bytes())
        except InvalidToken as error:
            raise BackupError("Неверная фраза CERTAPP_BACKUP_PASSPHRASE: ключи не расшифрованы.") from error
        if url.get_backend_name() == "postgresql":
            plain, env = _libpq(url)
            _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", f"--dbname={plain}",
                  str(work / "database.dump")], env)
        else:
            db.engine.dispose()
            source = sqlite3.connect(work / "database.sqlite")
            if not url.database:
                raise BackupError("База данных SQLite в памяти: восстанавливать некуда.")
            target = sqlite3.connect(url.database)
            try:
                source.backup(target)
            finally:
                target.close()
                source.close()
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tarfile.open(fileobj=io.BytesIO(keys_tar), mode="r") as tar:
            tar.extractall(work / "keys-out", filter="data")
        for item in (work / "keys-out" / "keys").iterdir():
            shutil.copy2(item, keys_dir / item.name)
            os.chmod(keys_dir / item.name, 0o600)
    db.engine.dispose()
    return manifest


backup_cli = AppGroup("backup", help="Резервная копия базы данных и ключей.")


@backup_cli.command("create")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Archive path (default: backups/certapp-<date>.tar in the instance folder).")
def create_command(output):
    """Write a backup archive: the database, the keys (encrypted with CERTAPP_BACKUP_PASSPHRASE), a manifest."""
    if output is None:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        output = Path(current_app.instance_path) / "backups" / f"certapp-{stamp}.tar"
    manifest = create_backup(output)
    click.echo(f"Резервная копия: {output} (база {manifest['database']}, ревизия {manifest['revision']}).")


@backup_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(archive):
    """Restore an archive into the configured, empty database and key directory."""
    manifest = restore_backup(archive)
    click.echo(f"Восстановлено из копии от {manifest['created_at']} (ревизия {manifest['revision']}). "
               "Проверьте: flask --app wsgi db upgrade; keys check; ledger check; reconcile; audit verify.")
