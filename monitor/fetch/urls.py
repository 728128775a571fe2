"""Canonical URLs and content fingerprints, as the fetch modules name them.

They live in monitor/identity.py: the item and hot-list stores need the same hashes, and storage
imports nothing from fetch. These names stay for the fetch modules (pages, outlet) that use them.
"""

from monitor.identity import (  # noqa: F401 (re-exported)
    TRACKING_PARAMETERS,
    canonical_url,
    content_hash,
    script_language,
    url_hash,
)
