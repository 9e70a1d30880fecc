"""How each platform's audience behaves per view, for the platforms and actions on the wire.

Rates are events per view. Social apps produce likes, comments and shares; marketplaces
produce searches, wishlists, carts and purchases; TikTok sits in between (TikTok Shop).
A product is present on a random subset of platforms, so some are missing by design.
Every table below has one entry per platform (or action) in the order of
`shared.schema.PLATFORMS` (`ACTIONS`).
"""

from __future__ import annotations

import numpy as np

from shared.schema import ACTIONS, PLATFORMS

N_PLATFORMS = len(PLATFORMS)
N_ACTIONS = len(ACTIONS)
VIEW, LIKE, COMMENT, SHARE, SAVE, SEARCH, CART, PURCHASE = (
    ACTIONS.index(a)
    for a in ("view", "like", "comment", "share", "save", "search", "add_to_cart", "purchase")
)
ENGAGEMENT = [LIKE, COMMENT, SHARE, SAVE]
SHOPPING = [CART, PURCHASE]

SOCIAL = np.array([True, True, True, True, True, False, False, False, False])
MARKETPLACE = np.array([False, False, False, False, False, True, True, True, False])
TIKTOK = PLATFORMS.index("tiktok")

# Short prefixes for event ids, as each connector would mint them.
ID_PREFIX: tuple[str, ...] = ("tt", "ig", "yt", "fb", "x", "sp", "tp", "lz", "ot")

# events per view:  view like   comment share  save   search add_to_cart purchase
RATES = np.array(
    [
        [1.0, 0.080, 0.012, 0.008, 0.010, 0.004, 0.0040, 0.0015],  # tiktok (TikTok Shop)
        [1.0, 0.060, 0.008, 0.006, 0.012, 0.002, 0.0, 0.0],  # instagram
        [1.0, 0.040, 0.005, 0.003, 0.004, 0.003, 0.0, 0.0],  # youtube
        [1.0, 0.050, 0.010, 0.010, 0.002, 0.001, 0.0, 0.0005],  # facebook (marketplace)
        [1.0, 0.030, 0.004, 0.006, 0.003, 0.004, 0.0, 0.0],  # x
        [1.0, 0.010, 0.002, 0.003, 0.020, 0.080, 0.050, 0.020],  # shopee
        [1.0, 0.0, 0.002, 0.002, 0.025, 0.080, 0.050, 0.018],  # tokopedia
        [1.0, 0.005, 0.002, 0.002, 0.020, 0.070, 0.045, 0.015],  # lazada
        [1.0, 0.0, 0.002, 0.010, 0.0, 0.050, 0.0, 0.0],  # other (web, forums)
    ]
)

# Chance that a product is found on each platform at all, and the platform's pull.
PRESENCE = np.array([0.8, 0.65, 0.3, 0.5, 0.2, 0.75, 0.55, 0.3, 0.15])
POPULARITY = np.array([3.0, 2.0, 1.0, 1.5, 0.5, 3.0, 2.0, 1.0, 0.4])
# Chance an event carries the viewer's province (platforms differ in what they expose).
REGION_SHARE = np.array([0.9, 0.7, 0.6, 0.8, 0.3, 0.95, 0.95, 0.9, 0.2])
# Platforms whose events name the account that posted (marketplaces: the shop).
HAS_CREATOR = np.array([True, True, True, True, True, True, True, True, False])
# Chance an event carries each product attribute (marketplaces always know their listing).
CATEGORY_SHARE = np.array([0.6, 0.5, 0.4, 0.5, 0.3, 1.0, 1.0, 1.0, 0.3])
NAME_SHARE = np.array([0.3, 0.3, 0.3, 0.3, 0.2, 1.0, 1.0, 1.0, 0.5])
PRICE_SHARE = np.array([0.3, 0.0, 0.0, 0.1, 0.0, 1.0, 1.0, 1.0, 0.0])
