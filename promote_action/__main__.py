"""`python -m promote_action` is the same entry point as the `kfm-promote` script."""

from promote_action.cli.main import entrypoint

if __name__ == "__main__":
    entrypoint()
