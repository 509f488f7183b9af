"""A program that runs a shell command, as injected code would: the skeleton demo's target."""

import os
import sys

marker = sys.argv[1]
print(f"demo: running os.system('touch {marker}')")
status = os.system(f"touch {marker}")
print(f"demo: os.system returned {status}")
