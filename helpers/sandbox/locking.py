"""The one lock over the sandbox's state: moto's backends and the Device Defender's.

moto's backends are plain dicts; the threaded server would otherwise let an audit's snapshot iterate them while
another request changes them. Every AWS API request, every audit snapshot and every mitigation effect holds it.
"""
from __future__ import annotations

import threading

STATE_LOCK = threading.RLock()
