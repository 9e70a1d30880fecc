"""Indonesian post text: normalisation, catalogue matching and emerging terms (pure cores)."""
