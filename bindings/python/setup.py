"""Marks the wheel as platform-specific.

The generated bindings load the native library with ctypes, so setuptools would think
the package is pure Python and tag the wheel ``py3-none-any``. The wheel carries a
native library: it is built as a platform wheel (installed into platlib) and tagged
``py3-none-<platform>`` (any Python 3, no C API, this platform). ``PESAKIT_WHEEL_PLAT``
overrides the platform tag (for example a ``manylinux`` tag once the library's glibc
requirements are checked).
"""

import os

from setuptools import setup
from setuptools.dist import Distribution

try:
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]


class BinaryDistribution(Distribution):
    """A distribution that carries a native library (not a CPython extension)."""

    def has_ext_modules(self) -> bool:
        return True


class PlatformWheel(bdist_wheel):
    """A wheel for this platform, usable by any Python 3."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        _python, _abi, plat = super().get_tag()
        return "py3", "none", os.environ.get("PESAKIT_WHEEL_PLAT") or plat


setup(distclass=BinaryDistribution, cmdclass={"bdist_wheel": PlatformWheel})
