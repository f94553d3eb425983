"""The project's one compiled module; everything else is declared in pyproject.toml.

``conference/media/_fastsend.c`` (see ``conference/media/fast_send.py``) is
optional: on a machine without a C compiler the install goes on without it
and the SFU sends forwarded packets from Python.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "conference.media._fastsend",
            sources=["conference/media/_fastsend.c"],
            optional=True,
            extra_compile_args=["-O2"],
        )
    ]
)
