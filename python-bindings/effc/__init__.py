"""effc: the Python side of the effc compiler.

`effc.ir` builds eff IR in pure Python and numpy; no compiled extension is needed to import this package.
"""

try:
    from . import ir  # noqa: F401
except ImportError:  # e.g. numpy is missing: `import effc` still works, `effc.ir` reports the error on use
    pass
