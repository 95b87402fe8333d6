from stac_schemas_support import no_network

__all__ = ["no_network"]
