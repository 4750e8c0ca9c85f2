"""`pip install .` (a wheel, not the checkout) carries the templates and the migrations: a database
is migrated and a page rendered from the installed package alone, away from the checkout."""
import os
import subprocess
import sys
import zipfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]


def test_a_wheel_runs_without_the_checkout(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(tmp_path / "dist"), str(CHECKOUT)], check=True, capture_output=True)
    wheel = next((tmp_path / "dist").glob("certapp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "certapp/templates/base.html" in names
    assert "certapp/migrations/env.py" in names
    assert sum(n.startswith("certapp/migrations/versions/") for n in names) == \
        len(list((CHECKOUT / "migrations" / "versions").glob("*.py")))
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    script = (
        "import certapp; from certapp import create_app; from flask_migrate import upgrade\n"
        f"assert certapp.__file__.startswith({str(tmp_path / 'site')!r}), certapp.__file__\n"
        "app = create_app()\n"
        "with app.app_context(): upgrade()\n"
        "page = app.test_client().get('/catalog')\n"
        "assert page.status_code == 200 and 'Каталог' in page.get_data(as_text=True), page.status_code\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "CERTAPP_INSTANCE_PATH": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}", "CERTAPP_JOBS_URL": "memory://"}
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
