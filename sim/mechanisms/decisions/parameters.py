"""The parameters of the decision stage (``sim.mechanisms.decisions``): preferences, costs
and the policy controls on movement, each with its unit, range, source and role."""

from __future__ import annotations

from sim.core.params import Param
from sim.mechanisms.decisions import norms

PARAMS = (
    Param(
        "consider_rate_year",
        0.4269,
        "decisions/year",
        0.0,
        12.0,
        "assumption; rural workers reconsider work plans about once a year (seed 1.3: "
        "seasonal cycles)",
        "rate at which a person at home weighs migrating",
        role="behaviour",
    ),
    Param(
        "spring_festival_share",
        0.5,
        "share",
        0.0,
        1.0,
        "seed 1.3 (seasonal cycles); most departures follow the Spring Festival",
        "share of the year's migration decisions taken in February and March",
        role="behaviour",
    ),
    Param(
        "beta_income",
        2.0,
        "utils per log RMB",
        0.0,
        10.0,
        "assumption; income elasticity of migration odds (Zhao 1999, AER P&P 89(2))",
        "weight of log expected net income",
        role="behaviour",
    ),
    Param(
        "young_pull_shift",
        0.150,
        "share",
        0.0,
        3.0,
        "seed 1.1: the young weigh pull factors",
        "extra weight on destination income for ages 15-29",
        role="behaviour",
    ),
    Param(
        "old_push_shift",
        0.3,
        "share",
        0.0,
        3.0,
        "seed 1.1: older migrants weigh push factors",
        "extra weight on home income for ages 45-64",
        role="behaviour",
    ),
    Param(
        "female_push_shift",
        0.6318,
        "share",
        0.0,
        3.0,
        "seed 1.1: women cite push factors more",
        "extra weight on home income for women",
        role="behaviour",
    ),
    Param(
        "destination_size_elasticity",
        0.0,
        "elasticity",
        0.0,
        1.5,
        "McFadden 1978 (a destination as an aggregate of elementary alternatives: utility "
        "+ lambda * log size); gravity models of China's inter-provincial flows find "
        "destination size and distance effects (He & Pooler, Geogr. Res. Forum, 1982-90 flows; "
        "Zhang et al. 2018, Migration Studies); 0 = every destination one alternative",
        "weight of log urban-economy size (regional product and city tier) in a "
        "destination's utility",
        role="behaviour",
    ),
    Param(
        "asc_home",
        -0.561,
        "utils",
        -20.0,
        20.0,
        "hand-set; calibrated in calibration/",
        "attachment to home (utility of staying before income)",
        role="behaviour",
    ),
    Param(
        "parent_cost_mother",
        2.694,
        "utils",
        0.0,
        10.0,
        "marriage and above all childbearing lower rural women's first labour migration "
        "(event histories of CHIP 2019, cohorts 1951-2000: 'Changing roles of marriage and "
        "family status for labor migration', 2024); calibrated in calibration/ (children left "
        "behind, seed 1.3, 1.5)",
        "utility a mother of children under 15 gives up by leaving them (household life "
        "course only)",
        role="behaviour",
    ),
    Param(
        "parent_cost_father",
        2.718,
        "utils",
        0.0,
        10.0,
        "the same study: children lower men's first migration less than women's; calibrated "
        "in calibration/",
        "utility a father of children under 15 gives up by leaving them",
        role="behaviour",
    ),
    Param(
        "parent_cost_school_ratio",
        1.0,
        "ratio",
        0.0,
        1.0,
        "seed 1.3 ('marriage and parenthood do not significantly lessen the likelihood of "
        "migration'); the 2005 1% survey's children left behind are spread over ages much as "
        "rural children are (27% aged 0-5, 35% 6-11, 21% 12-14, 17% 15-17 of 58 million; "
        "Duan & Yang, Population Research 2008(3), as quoted on stored pages, "
        "calibration/targets.toml); estimate, range 0.2-1; 1 switches the rule off",
        "ratio of a parent's cost (mother's or father's) once the mother has no child under "
        "school age (6): school-age children are left with grandparents more readily than "
        "infants",
        role="behaviour",
    ),
    Param(
        "returnee_move_bonus",
        0.0,
        "utils",
        0.0,
        5.0,
        "migration-specific capital: a past move raises the chance of another (DaVanzo 1983, "
        "Review of Economics and Statistics 65: repeat migration; Massey 1990, Population "
        "Index 56: cumulative causation); rural-urban circularity of Anhui villagers, 1980-2009 "
        "(Chen & Fan 2018, Geoforum 93); estimate, range 0-3; 0 switches the rule off",
        "utility a person at home who has migrated before adds to leaving again (the way, the "
        "jobs and the employers are known): subtracted from staying",
        role="behaviour",
    ),
    Param(
        "grandparent_care_relief",
        0.5,
        "share",
        0.0,
        1.0,
        "three-generation households send more migrants, the elderly caring for the "
        "children (Chen, Lucas, Bloom & Ding, J. Agric. Appl. Econ. 48(3), 2016); estimate "
        "(range 0.3-0.9)",
        "share of a parent's cost removed when another member aged 45+ is at home",
        role="behaviour",
    ),
    Param(
        "family_near_share",
        0.798866,
        "share",
        0.0,
        1.0,
        "seed 1.3 (cities of the home province offer 'proximity to native communities'); "
        "estimate, range 0.3-1; 1 switches the rule off",
        "share of the family cost (children, an elder in need) borne by a move inside the "
        "home province",
        role="behaviour",
    ),
    Param(
        "couple_apart_cost",
        0.0,
        "utils",
        0.0,
        5.0,
        "family migration decisions (Mincer 1978, J. Political Economy 86(5)); rural migrants' "
        "split households and couple migration (Fan, Sun & Zheng 2011, Environment and "
        "Planning A 43(9)); seed 1.3: 'the ratio of families that migrate together is low, but "
        "increasing'; 0 (off: spouses decide separately) until calibrated, range 0-3",
        "utility a married person gives up in a state that parts the couple (household life "
        "course only)",
        role="behaviour",
    ),
    Param(
        "nest_lambda",
        0.6,
        "dissimilarity",
        0.05,
        1.0,
        "nested logit (McFadden 1978); destinations are closer substitutes than staying",
        "dissimilarity parameter of the destination nest",
        role="behaviour",
    ),
    Param(
        "age_cost_per_decade",
        0.0,
        "utils per 10 years",
        0.0,
        5.0,
        "Sjaastad 1962 (JPE 70(5): fewer working years to recoup the move); Zhao 1999 (AER P&P "
        "89(2): age lowers the chance of migrating, rural China); seed 1.3 (manufacturing "
        "prefers young women); 0 since 0.19 (1.228 before, fitted to seed 1.3's 71% of "
        "migrants aged 15-29): age_horizon_cost carries the age of a move",
        "extra cost of moving per decade of age above 22, by age group (15-29, 30-44, 45-64 "
        "counted at 22, 37 and 52)",
        role="behaviour",
    ),
    Param(
        "age_horizon_cost",
        2.624,
        "utils",
        0.0,
        5.0,
        "Sjaastad 1962 (JPE 70(5)): a move is an investment whose fixed cost is recouped over "
        "the working years left, so it weighs more each year the fewer remain; Zhao 1999 (AER "
        "P&P 89(2)): age lowers the chance of migrating, rural China; size fitted to seed 1.3 "
        "(71% of migrants aged 15-29) with the return hazard's age gradient and the parent "
        "costs (calibration/README.md, 'Age through the working horizon and family events'); 0 "
        "switches the rule off",
        "cost k of the horizon form: a person at age a pays k (H(22) / H(a) - 1) more than one "
        "of 22, with H = exit_age - a (groups 15-29, 30-44, 45-64 costed at 22, 37, 52: 0, "
        "0.54 k, 2.31 k at exit 65); adds to age_cost_per_decade",
        role="behaviour",
    ),
    Param(
        "female_cost",
        0.297,
        "utils",
        -5.0,
        10.0,
        "seed 1.3: one third of migrants female earlier, 49% by 2003; constant since 0.13, the "
        "rise carried by the women's migration experience (decisions.norms; calibration/"
        "README.md, 'Women's migration experience'); refitted in 0.16 with whole openings "
        "(calibration/README.md, 'Whole openings')",
        "extra cost of moving for women before any woman of their province has been away "
        "(less female_norm_effect times the share who have)",
        role="behaviour",
    ),
    Param(
        "control_grain_rations",
        0.6,
        "utils",
        0.0,
        20.0,
        "seed 1.1, 2.2: urban grain was rationed to urban hukou holders until the 1993 grain "
        "circulation reform (sim/data/policies.toml: grain_rations_ended_1993)",
        "cost of leaving home while urban grain is rationed by hukou (in force until the "
        "document that ended it)",
        role="policy",
    ),
    Param(
        "control_custody",
        0.03203,
        "utils",
        0.0,
        20.0,
        "seed 2.2: detention and repatriation of migrants without permits until the 2003 "
        "abolition of custody and repatriation (sim/data/policies.toml: "
        "custody_abolished_2003)",
        "cost of leaving home under custody and repatriation (in force until the document "
        "that ended it)",
        role="policy",
    ),
    Param(
        "mobility_control",
        0.0,
        "utils",
        0.0,
        20.0,
        "lever for scenarios; history is in the dated controls (control_grain_rations, "
        "control_custody, sim.core.policies)",
        "extra cost of leaving home from controls on movement, on top of the dated controls",
        role="policy",
    ),
    Param(
        "cost_within_county", 0.2, "utils", 0.0, 20.0, "assumption", "moving cost, within county",
        role="behaviour",
    ),
    Param(
        "cost_across_county",
        0.0574381,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across counties within a prefecture",
        role="behaviour",
    ),
    Param(
        "cost_across_prefecture",
        0.435274,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across prefectures within a province",
        role="behaviour",
    ),
    Param(
        "cost_across_province",
        2.8333,
        "utils",
        0.0,
        20.0,
        "assumption",
        "moving cost, across provinces (before distance)",
        role="behaviour",
    ),
    Param(
        "cost_per_1000km",
        0.621,
        "utils per 1000 km",
        0.0,
        10.0,
        "assumption",
        "moving cost per 1000 km between provincial capitals",
        role="behaviour",
    ),
    Param(
        "network_beta",
        1.0414,
        "utils per log contact",
        0.0,
        5.0,
        "seed 1.4: 95% found jobs via friends or themselves; Zhao 2003",
        "chain-migration weight of log(1 + contacts at the destination)",
        role="behaviour",
    ),
    Param(
        "local_share_small_town",
        0.6,
        "share",
        0.0,
        1.0,
        "assumption; census 2000: 43.7% of moves within county (seed 1.3)",
        "share of moves to county towns of the home province that stay in the home county",
        role="exogenous",
    ),
    Param(
        "own_prefecture_share_medium",
        0.5,
        "share",
        0.0,
        1.0,
        "assumption",
        "share of moves to prefecture cities of the home province that go to the home prefecture",
        role="behaviour",
    ),
    Param(
        "ht_mode",
        False,
        "flag",
        0,
        1,
        "Harris & Todaro 1970 (AER 60(1)); teaching mode, see scenarios/harris_todaro.toml",
        "wage arbitrage on expectations: move if the expected urban wage (wage x expected "
        "employment rate) beats home, return if not; one national rural and one urban wage level",
        kind=bool,
        role="structural",
    ),
    Param(
        "ht_expectation_speed",
        0.2,
        "share per month",
        0.01,
        1.0,
        "adaptive expectations (Nerlove 1958, QJE 72(2)); the value is an assumption; 1 is "
        "naive expectations",
        "Harris-Todaro mode: share of the gap between the observed and the expected employment "
        "rate of a destination closed each month",
        role="behaviour",
        active_when="ht_mode == 1",
    ),
    Param(
        "ht_response",
        1.5,
        "share per util",
        0.01,
        1000.0,
        "Harris & Todaro 1970 (AER 60(1)): migration is a function psi of the expected urban-rural "
        "income gap, psi(0) = 0, psi' > 0; the value is an assumption (3 per log point of "
        "income at beta_income = 2)",
        "Harris-Todaro mode: share of those considering who act, per util of expected gain "
        "(at most 1)",
        role="behaviour",
        active_when="ht_mode == 1",
    ),
    Param(
        "onward_prob_unemployed",
        0.08,
        "per month",
        0.0,
        1.0,
        "seed 1.4: high job mobility and on-migration",
        "chance an unemployed migrant reconsiders",
        role="behaviour",
    ),
    Param(
        "onward_prob_employed",
        0.004,
        "per month",
        0.0,
        1.0,
        "seed 1.4 (Knight & Yueh 2004: high job mobility)",
        "chance an employed migrant reconsiders",
        role="behaviour",
    ),
    *norms.NORM_PARAMS,
)
