"""One registry of sequence model families, filled by the ``@register`` decorator."""

from __future__ import annotations

from ml.data import FeatureSpec

MODEL_REGISTRY: dict[str, type] = {}


def register(name: str):
    """Class decorator: make a :class:`~ml.models.base.SequenceModel` buildable by ``name``."""

    def decorator(cls):
        if name in MODEL_REGISTRY and MODEL_REGISTRY[name] is not cls:
            raise ValueError(f"model {name!r} is already registered")
        MODEL_REGISTRY[name] = cls
        cls.name = name
        return cls

    return decorator


def available_models() -> list[str]:
    """Registered model names, sorted."""
    return sorted(MODEL_REGISTRY)


def build_model(name: str, spec: FeatureSpec, **overrides):
    """Build model ``name`` for ``spec``; ``overrides`` replace its documented defaults."""
    try:
        cls = MODEL_REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered: {available_models()}") from None
    return cls(spec, **overrides)
