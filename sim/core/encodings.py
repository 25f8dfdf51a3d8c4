"""Urban sectors in which migrants work (seed 1.4, Occupational Profile)."""

SECTOR_NAMES = ("construction", "manufacturing", "trade_catering", "services", "other")
N_SECTORS = len(SECTOR_NAMES)
NO_SECTOR = -1
