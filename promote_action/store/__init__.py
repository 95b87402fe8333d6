"""The one layer that reads and writes object storage (obstore underneath).

Gates ask it for the digest of a location; publishing asks it to copy verified bytes.
Credentials and endpoints come from the environment (`StoreSettings.from_env`), never
from a spec.
"""

from promote_action.store.digest import (
    ObjectPin,
    hash_objects,
    hash_objects_detailed,
    read_pinned,
    verify_pinned,
)
from promote_action.store.errors import (
    BadURIError,
    ConditionalPutUnsupportedError,
    DestinationConflictError,
    ObjectChangedError,
    SizeMismatchError,
    StoreAccessError,
    StoreError,
)
from promote_action.store.settings import StoreSettings
from promote_action.store.uri import ObjectURI, is_uri, parse_uri

__all__ = ["BadURIError", "ConditionalPutUnsupportedError", "DestinationConflictError",
           "ObjectChangedError", "ObjectPin", "ObjectURI", "SizeMismatchError",
           "StoreAccessError", "StoreError", "StoreSettings", "hash_objects",
           "hash_objects_detailed", "is_uri", "parse_uri", "read_pinned", "verify_pinned"]
