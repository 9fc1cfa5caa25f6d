"""The sequence variants: the same journeys under three sequence rules (the marts
`fct_journey_sequences_<variant>`).

`no_funnel` is the honest one: events strictly before the conversion moment, funnel events
excluded. The two others exist to show what leakage does and are never promoted:
`with_funnel` keeps the funnel events; `funnel_excluded_only` drops them but does not cut at the
conversion moment, so what people do after ordering (opening the orders tab) becomes a "driver".
"""

HONEST_VARIANT = "no_funnel"
LEAKY_VARIANTS: tuple[str, ...] = ("with_funnel", "funnel_excluded_only")
VARIANTS: tuple[str, ...] = (HONEST_VARIANT, *LEAKY_VARIANTS)
