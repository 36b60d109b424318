"""`manage.py catalog_reindex_search [--load-synonyms]`: write every entry's search texts again
(catalog.search.entry_index), as migration catalog 0021 did; with --load-synonyms, first add
the groups of the maintained list (catalog/data/search_synonyms.txt) that the database does not
hold yet (groups the administrators edited or switched off stay as they are)."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.db import transaction

from catalog import search, services
from catalog.models import Resource, ResourceItem

SYNONYM_FILE = Path(__file__).resolve().parents[2] / "data" / "search_synonyms.txt"


class Command(BaseCommand):
    help = "Index every catalog entry for search again; --load-synonyms adds new groups of the maintained list."

    def add_arguments(self, parser):
        parser.add_argument("--load-synonyms", action="store_true", help="add new groups of search_synonyms.txt")
        parser.add_argument("--no-reindex", action="store_true", help="only load the synonyms")

    def handle(self, *args, load_synonyms=False, no_reindex=False, **options):
        if load_synonyms:
            added = services.search_synonyms_load(
                actor=None, groups=search.read_synonym_file(SYNONYM_FILE), note="maintained list (search_synonyms.txt)"
            )
            self.stdout.write(f"synonym groups added: {added}")
        if not no_reindex:
            with transaction.atomic():
                done = search.reindex_entries(Resource, ResourceItem)
            self.stdout.write(f"entries indexed: {done}")
