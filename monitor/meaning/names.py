"""The topic names: every topic a change can have, and the ones watched unless a source says otherwise."""

WATCHED = ("sharing", "retention", "minors")
# ads_ai: personal data used for targeted advertising, profiling, or training AI models; opt-in per source
# (a channel's `topics:` only picks among its sources' topics)
MODELLED = (*WATCHED, "ads_ai")  # decided by the trained model (with rule evidence)
CONTEXT = ("collection", "security", "rights", "cookies", "transfers", "contact", "changes")  # rules only
TOPICS = (*MODELLED, *CONTEXT)
