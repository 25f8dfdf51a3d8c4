"""Names for every encoding of agent state, in one place.

Integer codes live in compact arrays (``sim.core.state``); kernels compare against these
constants, never against bare numbers.
"""

# where a person is: HOME, or a destination id 0..n_dest-1
HOME = -1

# hukou status of a person slot
RURAL = 0
URBAN = 1  # converted to local hukou at the destination (settled)
VACANT = 2  # an empty person slot (not yet entered, or left by ageing or death)
HUKOU_NAMES = ("rural", "urban", "vacant")

MALE = 0
FEMALE = 1
N_SEX = 2

N_SCHOOL = 3  # highest schooling level
SCHOOL_NAMES = ("primary", "junior", "senior")  # primary or less, junior, senior or more
N_AGE_GROUPS = 3
AGE_GROUP_NAMES = ("15-29", "30-44", "45-64")

# urban sectors in which migrants work (seed 1.4, Occupational Profile)
SECTOR_NAMES = ("construction", "manufacturing", "trade_catering", "services", "other")
N_SECTORS = len(SECTOR_NAMES)
NO_SECTOR = -1  # Persons.sector without a job

NO_DIST = -1  # Persons.dist at home
ACROSS_PROVINCE = 3  # Persons.dist of a move across a provincial border (DIST_CLASS_NAMES[3])
NO_YEAR = -1  # a year not set (Persons.first_year of someone who never left)
NEVER_LEFT = 255  # Persons.first_left of someone who never left
NO_PERSON = -1  # Households.kids_with when the children are at home
MAX_CHILDREN = 6  # places in Households.child_by (children under 15 of one household)
NO_MOTHER = -1  # Households.child_mother when the mother is not in the household

# bit flags of Persons.job
JOB_INFORMAL = 1  # no contract (seed 1.4: informal employment)
JOB_MINWAGE = 2  # the employer respects the minimum wage
JOB_INSURED = 4  # enrolled in social insurance
JOB_SELF = 8  # own-account work, held without a wage job (``employed`` 0; seed 1.4)

# bit flags of the life course's January buffer ``wed`` (read by the family-event returns)
WED_MARRIED = 1  # first married this January
WED_BIRTH = 2  # a mother of a child born this January

# bit flags of the person field ``ins_branches`` (insurance by branch, ``sim.mechanisms.insurance``)
INS_PENSION = 1
INS_MEDICAL = 2
INS_UNEMPLOYMENT = 4
INS_INJURY = 8
INS_MATERNITY = 16
INS_DRAWN = 32  # the current job's branches have been drawn

# move events of the decision stage (decisions.decide, apply_moves)
EVENT_NONE = 0
EVENT_DEPART = 1  # from home to a destination
EVENT_ONWARD = 2  # between destinations
EVENT_RETURN = 3  # back home by choice

# ways of leaving the migrant stock while away (Recorder.exitflow columns)
EXIT_CAUSES = ("ageing", "death", "hukou")
