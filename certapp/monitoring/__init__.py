"""Quality monitoring of the providers by the municipal support centre (plan 6.1–6.2 of 458-п)."""
