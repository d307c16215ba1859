"""Explanations of anomalies in domain terms (bearing fault types from envelope spectra)."""
