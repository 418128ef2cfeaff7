"""The CSS selectors of a source's `select`/`remove` as XPath (cssselect), for the config check and the normalizer."""

from __future__ import annotations


def css_to_xpath(selector: str) -> str:
    """XPath of `selector` over an HTML tree; raises cssselect's SelectorError when it is not valid CSS.

    soupsieve's (BeautifulSoup's selector engine, which read these selectors before) `:-soup-contains()` is
    cssselect's `:contains()`.

    >>> css_to_xpath("main")
    'descendant-or-self::main'
    """
    from cssselect import HTMLTranslator  # pure Python, small: imported when a source has selectors

    return HTMLTranslator().css_to_xpath(selector.replace(":-soup-contains(", ":contains("))
