"""Spec text (CONTRACTS.md section 2) to and from Python values.

Options travel to the library as the inside of a spec, "lr=0.001,betas=(0.9,0.999)",
so the binding keeps no copy of the library's hyperparameter struct. Floats
are written with repr(), the shortest text that reads back as the same double.
"""
import math
import re

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def format_value(value):
    """One spec value: a number, a bool, None, a word or a tuple of them."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "None"
    if isinstance(value, str):
        if not _WORD.match(value):
            raise ValueError(f"{value!r} is not a word a spec can hold")
        return value
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(format_value(v) for v in value) + ")"
    if hasattr(value, "item"):                 # a 0-d tensor or a numpy scalar
        value = value.item()
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not finite")
    return repr(value)


def format_overrides(options):
    """{'lr': 0.001, 'betas': (0.9, 0.95)} -> "lr=0.001,betas=(0.9,0.95)"."""
    return ",".join(f"{key}={format_value(value)}" for key, value in options.items())


def _number(text):
    try:
        return int(text)
    except ValueError:
        return float(text)


def _value(tokens, i):
    tok = tokens[i]
    if tok == "(":
        items, i = [], i + 1
        while tokens[i] != ")":
            item, i = _value(tokens, i)
            items.append(item)
            if tokens[i] == ",":
                i += 1
        return tuple(items), i + 1
    if tok in ("true", "True"):
        return True, i + 1
    if tok in ("false", "False"):
        return False, i + 1
    if tok == "None":
        return None, i + 1
    if _WORD.match(tok):
        return tok, i + 1
    return _number(tok), i + 1


def parse_spec(text):
    """A canonical spec as the library writes it -> (name, {key: value})."""
    tokens = re.findall(r"[(),=]|[^\s(),=]+", text)
    name, options = tokens[0], {}
    i = 2 if len(tokens) > 1 else 1
    while i < len(tokens) and tokens[i] != ")":
        key = tokens[i]
        options[key], i = _value(tokens, i + 2)
        if tokens[i] == ",":
            i += 1
    return name, options
