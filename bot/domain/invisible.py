"""Characters that show nothing but change what text is or how it reads: bidirectional controls and
zero-width characters. Typed input and Capillary's data both lose them (one list, used by both)."""

from __future__ import annotations

import re

# LRM, RLM, ALM; LRE…RLO (U+202A–E) and LRI…PDI (U+2066–9): they reorder what follows them on screen.
_BIDI = "\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
# Zero-width space, word joiner and invisible operators, deprecated format controls, BOM, soft hyphen.
_ZERO_WIDTH = "\u200b\u2060-\u2064\u206a-\u206f\ufeff\u00ad\u180e"
# Zero-width (non-)joiner: needed to draw some Indic and Persian words and emoji sequences right.
_JOINERS = "\u200c\u200d"
_HIDDEN = re.compile(f"[{_BIDI}{_ZERO_WIDTH}]")
_HIDDEN_OR_JOINER = re.compile(f"[{_BIDI}{_ZERO_WIDTH}{_JOINERS}]")


def without_invisible(text: str, *, keep_joiners: bool = False) -> str:
    """`text` less its bidirectional controls and zero-width characters. Names shown to people keep the joiners
    (`keep_joiners`); an identifier or a code never has one, so typed text loses them too."""
    return (_HIDDEN if keep_joiners else _HIDDEN_OR_JOINER).sub("", text)
