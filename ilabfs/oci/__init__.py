"""Registries, OCI layouts, the Hugging Face cache and lock files.

The modules, from the wire up:

* ``reference``: parsing ``REGISTRY/REPO:TAG``.
* ``credentials`` and ``auth``: Docker's config file, basic and bearer-token authentication.
* ``transport``: HTTP with retries.
* ``registry``: the distribution API.
* ``upload`` and ``download``: streaming blobs, with resume.
* ``digestmap``: sha256 to BLAKE3 and back.
* ``artifact``: remote manifests.
* ``pull``, ``push``, ``image_layout``, ``hfcache`` and ``lockfile``: the operations.
"""
