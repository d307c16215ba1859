"""Condition trend over an asset's recordings: time order, persistent-alarm onset."""
