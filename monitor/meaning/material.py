"""The one rule of what a change is "material": of substance, or not rated (so nobody judged it harmless)."""


def is_material(substantive: bool, not_rated: str | None) -> bool:
    """Shown and counted as material by every view (`RatedChange.material`, the stored `ChangeRecord.material`,
    `queries.without_substance`; `web.data.MATERIAL` states it in SQL)."""
    return substantive or bool(not_rated)
