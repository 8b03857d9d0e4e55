"""Package re-exports imported on first use (PEP 562), so that importing a package, or one of
its light submodules, never loads the heavy ones (torch, dspy, PyAV) that
its other names need. `viddiff --help` starts in a fraction of a second because of this.

Example, in a package's `__init__.py` (the TYPE_CHECKING imports are for type checkers and
IDEs; tests/test_lazy.py checks that they name exactly the re-exports):

    if TYPE_CHECKING:
        from viddiff.data.video import Frames, read_frames

    __getattr__, __dir__, __all__ = lazy_exports(__name__, {"video": ("Frames", "read_frames")})
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` of a package re-exporting `exports` (submodule ->
    names): a name's submodule is imported when the name is first read, then the name is kept
    on the package. A name that is also its submodule's name (`optimize.closed_metric`) is
    imported at once: importing the submodule later would set the package's attribute to the
    module, hiding the name."""
    submodule_of = {name: submodule for submodule, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in submodule_of:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{submodule_of[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *submodule_of})

    for name, submodule in submodule_of.items():
        if name == submodule:
            __getattr__(name)
    return __getattr__, __dir__, sorted(submodule_of)
