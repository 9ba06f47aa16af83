"""Deterministic generator of a demo town at Darab (Fars, Iran).

See :mod:`data.demo_city.generator` for the library and ``python -m
data.demo_city --help`` for the command line.
"""

from .generator import ALL_LAYERS, CityParams, CityResult, generate_city

__all__ = ["ALL_LAYERS", "CityParams", "CityResult", "generate_city"]
