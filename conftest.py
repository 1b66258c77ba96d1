"""pytest collects notebooks/ through this folder: load the course's nbval plugin (scripts/nbval_plugin.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "scripts"))
pytest_plugins = ["nbval_plugin"]
