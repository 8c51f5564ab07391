"""Builds the optional compiled segmentation walk ``linesift._cwalk`` (see segment.py).

Everything else about the package is in pyproject.toml. Without Cython, lxml's headers or a C
compiler the package installs without the extension and ``segment`` uses its Python walk.
"""

from setuptools import Extension, setup


def _extensions() -> list[Extension]:
    try:
        import lxml
        from Cython.Build import cythonize
    except ImportError:
        return []
    ext = Extension(
        "linesift._cwalk",
        ["src/linesift/_cwalk.pyx"],
        include_dirs=lxml.get_include(),
        optional=True,  # a failed compile is a warning, not a failed install
    )
    return cythonize([ext], compiler_directives={"language_level": 3})


setup(ext_modules=_extensions())
