"""Which AWS regions have a service, from botocore's endpoint data (no network)."""
from __future__ import annotations

from functools import lru_cache

import botocore.session


@lru_cache(maxsize=32)
def service_regions(service: str) -> frozenset[str]:
    """Return every region, in any partition, where botocore knows ``service``."""
    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions(service, partition))


def iot_regions() -> frozenset[str]:
    """Return every region, in any partition, where botocore knows AWS IoT (and so Device Defender)."""
    return service_regions("iot")
