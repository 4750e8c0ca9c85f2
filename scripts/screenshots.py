"""Screenshots of the main pages with the demo data, for the README (docs/screenshots/).

Builds a fresh instance the way `scripts/run` does (migrations, reference data, keys, demo data)
in a temporary folder, serves it with gunicorn on a free port, and photographs the pages in
Debian's Chromium at a desktop and a phone size, logged in as the demo accounts.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Needs Chromium (apt-get install chromium, or CERTAPP_CHROMIUM=/path/to/chromium).
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

#: (file name, demo account or None, path, viewport, what it shows[, what to click first: Playwright selectors])
SHOTS = (
    ("catalog", None, "/catalog", DESKTOP, "Каталог программ (без входа)"),
    ("parent-home-phone", "ivanova@karatuz.demo", "/", PHONE, "Родитель на телефоне: сертификаты и ближайшие списания"),
    ("parent-catalog-phone", "ivanova@karatuz.demo", "/catalog", PHONE,
     "Каталог для родителя: что оплатит сертификат и сколько доплатить"),
    ("parent-contracts", "ivanova@karatuz.demo", "/contracts", DESKTOP, "Договоры родителя"),
    ("provider-enrollments", "cdt@karatuz.demo", "/enrollments", DESKTOP, "Исполнитель: заявки на обучение, массовое решение"),
    ("department-home", "uo@karatuz.demo", "/", DESKTOP, "Управление образования: сводка с динамикой и очереди"),
    ("department-queue", "uo@karatuz.demo", "/certificates/queue?status=", DESKTOP, "Заявления на сертификат"),
    ("department-indicators", "uo@karatuz.demo", "/reports/indicators", DESKTOP, "Показатели: одна форма и графики"),
    ("department-indicators-phone", "uo@karatuz.demo", "/reports/indicators", PHONE, "Показатели на телефоне"),
    ("bookkeeping-registers", "buh@karatuz.demo", "/bookkeeping/registers", DESKTOP, "Бухгалтерия: реестры на оплату"),
    ("bookkeeping-reconciliation", "buh@karatuz.demo", "/bookkeeping/reconciliation", DESKTOP, "Сверка"),
    ("region-report", "region@krai.demo", "/reports/region", DESKTOP, "Региональный оператор: муниципалитеты рядом"),
    ("provider-admissions", "cdt@karatuz.demo", "/registry/admissions", DESKTOP, "Исполнитель: допуск в муниципалитетах"),
    ("department-categories", "uo@karatuz.demo", "/certificates/categories", DESKTOP,
     "Категории сертификатов: финансируемые места и очередь"),
    ("bookkeeping-invoices", "buh@karatuz.demo", "/bookkeeping/invoices", DESKTOP, "Бухгалтерия: авансовые и итоговые счета"),
    ("open-data", None, "/open/04624000", DESKTOP, "Открытые данные муниципалитета (без входа): наборы, версии, CSV, JSON, паспорт"),
    ("moc-visit", "moc@karatuz.demo", "/monitoring/visits/1", DESKTOP, "Опорный центр: посещение по чек-листу"),
    ("department-import", "uo@karatuz.demo", "/imports", DESKTOP, "Загрузка из прежней системы: шаблоны и проверка"),
    ("contract-print", "ivanova@karatuz.demo", "/contracts/1/print", DESKTOP, "Договор для печати с подписями"),
    ("document-verify", None, "/documents/verify?number=%D0%94%D0%9E-2026-00001", DESKTOP, "Проверка подписанного документа"),
    ("department-menu", "uo@karatuz.demo", "/", DESKTOP, "Меню управления образования: разделы, открыт «Сертификаты»",
     ('#site-nav summary:text-is("Сертификаты")',)),
    ("provider-menu-phone", "cdt@karatuz.demo", "/", PHONE, "Меню исполнителя на телефоне: открыт «Договоры и деньги»",
     ("[data-nav-toggle]", '#site-nav summary:text-is("Договоры и деньги")')),
    ("parent-contracts-phone", "ivanova@karatuz.demo", "/contracts", PHONE, "Договоры родителя на телефоне: карточки"),
    ("department-queue-phone", "uo@karatuz.demo", "/certificates/queue?status=", PHONE,
     "Заявления на сертификат на телефоне: карточки с решением"),
)


def chromium() -> str:
    for path in (os.environ.get("CERTAPP_CHROMIUM"), shutil.which("chromium"), shutil.which("chromium-browser")):
        if path and os.access(path, os.X_OK):
            return path
    sys.exit("screenshots: no Chromium (apt-get install chromium, or set CERTAPP_CHROMIUM)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(instance: Path) -> tuple[dict, dict]:
    """A demo instance as scripts/run makes it; returns its environment and the demo passwords."""
    env = {**os.environ, "CERTAPP_INSTANCE_PATH": str(instance), "FLASK_APP": "wsgi", "DATABASE_URL": "",
           "CERTAPP_LOG_LEVEL": "WARNING"}
    env.pop("DATABASE_URL")
    for command in (["db", "upgrade"], ["reference", "load"], ["keys", "rotate", "--if-missing"], ["demo", "load"]):
        subprocess.run([str(BIN / "flask"), *command], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    passwords = {}
    for line in (instance / "demo-logins.txt").read_text().splitlines()[1:]:
        _role, email, password = line.split()
        passwords[email] = password
    return env, passwords


def serve(env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}",
                               "--workers", "2", "wsgi:app"], cwd=ROOT, env=env)
    for _ in range(300):  # a minute: on a busy machine the master's key check and the workers take a while
        if server.poll() is not None:
            sys.exit(f"screenshots: the server stopped (exit code {server.returncode})")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("screenshots: the server did not start")


def login(page, url: str, email: str, password: str) -> None:
    page.goto(f"{url}/account/login")
    page.get_by_label("Электронная почта").fill(email)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state("load")
    if "/account/login" in page.url:
        sys.exit(f"screenshots: {email} could not log in: {page.locator('.alert').all_inner_texts()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    out = Path(parser.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="certapp-screenshots-") as folder:
        env, passwords = prepare(Path(folder))
        port = free_port()
        server = serve(env, port)
        url = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium(), args=["--no-sandbox", "--disable-gpu"])
                # one session per account, logged in once (logins from one address are rate-limited)
                pages = {}
                for name, email, path, viewport, caption, *clicks in SHOTS:
                    if email not in pages:
                        context = browser.new_context(viewport=viewport, locale="ru-RU", device_scale_factor=1)
                        pages[email] = context.new_page()
                        if email:
                            login(pages[email], url, email, passwords[email])
                    page = pages[email]
                    page.set_viewport_size(viewport)
                    page.goto(url + path)
                    if "/account/login" in page.url:
                        sys.exit(f"screenshots: {name}: {email or 'a visitor'} is not logged in")
                    for selector in (clicks[0] if clicks else ()):
                        page.locator(selector).click()
                    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
                    print(f"{name}.png — {caption}")
                browser.close()
        finally:
            server.terminate()
            try:  # the workers finish their requests first: on a busy machine that can take a while
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
