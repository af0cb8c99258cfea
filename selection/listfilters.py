"""The candidate list's filters from selection: by offer (回答待ち, 承諾 …), registered in SelectionConfig.ready()."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from candidates.listfilters import ListFilter
from selection.models import Offer, OfferStatus


def _offer_choices(_season_id: int) -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in OfferStatus.choices]


def _offer_condition(value: str, _season_id: int) -> Q | None:
    if value not in OfferStatus.values:
        return None
    return Q(Exists(Offer.objects.filter(candidate=OuterRef("pk"), status=value)))


OFFER_FILTER = ListFilter(key="offer", label=_("内定"), choices=_offer_choices, condition=_offer_condition)
