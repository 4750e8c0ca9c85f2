"""The README shows the screenshots scripts/screenshots.py takes, and every one of them is there."""
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_links_exactly_the_screenshots_the_script_takes_and_each_file_exists():
    spec = importlib.util.spec_from_file_location("screenshots", ROOT / "scripts" / "screenshots.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    taken = {f"{shot[0]}.png" for shot in script.SHOTS}
    linked = set(re.findall(r"docs/screenshots/([\w-]+\.png)", (ROOT / "README.md").read_text()))
    assert linked == taken
    assert all((ROOT / "docs" / "screenshots" / name).is_file() for name in taken)
