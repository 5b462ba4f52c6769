"""Demography core: life tables, age graduation and the cohort-component projection engine.

Pure model layer: functions over numpy arrays and xarray DataArrays returning frozen dataclasses; no
store, no files, no printing.
"""
