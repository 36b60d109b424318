"""The synonym groups of the catalog search (catalog.search): words a clerk types that mean
what an entry calls by another name (身份证号码, 公民身份号码). Seeded from the maintained list
catalog/data/search_synonyms.txt; administrators edit them in the admin."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

MAX_WORD_LENGTH = 40
_SPLIT = re.compile(r"[,，、;；|/\s]+")


def synonym_key(word: str) -> str:
    """How a word of a synonym group, and a run of query words, are compared: NFKC (full-width
    forms as their usual ones), lower case, without spaces."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", word or "")).lower()


def split_words(text: str) -> list[str]:
    """The words of a synonym group as an administrator or the data file writes them:
    separated by commas (, ，), 、, semicolons, | or white space; duplicates dropped."""
    words: dict[str, str] = {}
    for word in _SPLIT.split(unicodedata.normalize("NFKC", text or "")):
        key = synonym_key(word)
        if key:
            words.setdefault(key, word.strip())
    return list(words.values())


class SearchSynonym(models.Model):
    """A group of words that mean the same to the catalog search: a query holding any of them
    finds entries that hold any other."""

    words = models.TextField(
        _("words"),
        help_text=_(
            "Two or more words that mean the same, separated by commas, 、 or new lines, "
            "e.g. 社保, 社会保险. Searches use a change within moments."
        ),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    is_active = models.BooleanField(_("in use"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("search synonym group")
        verbose_name_plural = _("search synonym groups")
        ordering = ["id"]

    def __str__(self) -> str:
        return "、".join(self.word_list())

    def word_list(self) -> list[str]:
        return split_words(self.words)

    def clean(self) -> None:
        words = self.word_list()
        if len(words) < 2:
            raise ValidationError({"words": _("Enter at least two different words.")})
        long = [w for w in words if len(w) > MAX_WORD_LENGTH]
        if long:
            message = _("A word may have at most %(n)d characters: %(words)s")
            raise ValidationError({"words": message % {"n": MAX_WORD_LENGTH, "words": "、".join(long)}})
        self.words = "、".join(words)
