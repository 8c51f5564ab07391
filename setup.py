"""Builds the optional compiled segmentation walk ``linesift._cwalk`` (see segment.py).

Everything else about the package is in pyproject.toml. Without Cython, lxml's headers or a C
compiler the package installs without the extension, and ``segment`` uses its Python walk.
"""

from pathlib import Path

from setuptools import Extension, setup

SOURCE = "src/linesift/_cwalk.pyx"


def _extensions() -> list[Extension]:
    if not (Path(__file__).parent / SOURCE).exists():
        return []
    try:
        import lxml
        from Cython.Build import cythonize
    except ImportError:
        return []
    ext = Extension(
        "linesift._cwalk",
        [SOURCE],
        include_dirs=[d for d in lxml.get_include() if not d.endswith("__pycache__")],
    )
    try:
        extensions = cythonize([ext], compiler_directives={"language_level": 3})
    except Exception as exc:  # any Cython failure: install with the Python walk
        print(f"warning: linesift._cwalk not built ({exc})")
        return []
    for extension in extensions:
        # a failed compile is a warning, not a failed install (set here: cythonize makes new
        # Extension objects and drops ``optional``)
        extension.optional = True
    return extensions


setup(ext_modules=_extensions())
