"""Physical constants (2019 SI exact values; CODATA 2018 for the derived eV/K)."""

ELEMENTARY_CHARGE = 1.602176634e-19  # C
BOLTZMANN = 1.380649e-23  # J/K
BOLTZMANN_EV = 8.617333262e-5  # eV/K
