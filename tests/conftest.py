"""pytest setup: makes tests/ importable (for the op table) and seeds numpy."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
