"""What ``chalice package`` merges and how the deployable package is built (``template``, ``package``)."""
