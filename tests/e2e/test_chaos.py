"""CI-sized run of the chaos scenario (tests/fault/chaos.py): 20 s, 32 clients,
its own MariaDB and Redis. The full run is 60 s with 64 clients."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from rowcache_e2e import args  # noqa: E402

if __name__ == "__main__":
    a = args()
    script = os.path.join(os.path.dirname(__file__), "..", "fault", "chaos.py")
    sys.exit(subprocess.call([sys.executable, script, "--binary", a.binary, "--duration", "20", "--clients", "32"]))
