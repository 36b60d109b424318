"""Thin viewsets of the catalog: querysets from policies (404 outside them), actions checked
by PolicyPermission (403), writes through services (400/409)."""

import orjson
from django.core.paginator import EmptyPage, Page, PageNotAnInteger
from django.core.paginator import Paginator as DjangoPaginator
from django.http import HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog.api.base import PolicyViewSet
from catalog.core.api.base import Pagination
from catalog.core.api.renderers import FastJSONRenderer
from catalog.core.errors import RuleViolation

from ... import importexport, policies, search, selectors, services, tasks
from ...choices import ResourceStatus
from ...filters import CatalogTaskFilter, ResourceFilingFilter, ResourceFilter, SourceConflictFilter
from ...models import Resource
from ..serializers.resources import (
    CatalogTaskSerializer,
    CommentSerializer,
    EntriesJson,
    ImportJobSerializer,
    ImportResultSerializer,
    ResourceFilingSerializer,
    ResourceRefreshSerializer,
    ResourceSerializer,
    ResourceUpdateSerializer,
    ResourceVersionSerializer,
    RetireSerializer,
    ReturnSerializer,
    SourceConflictSerializer,
    SourceDesignationSerializer,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_FORMATS = ("csv", "xlsx", "dcat")


class JsonRows(list):
    """The entries of a page written by PostgreSQL: `json`, their JSON array as text (the
    list itself is empty)."""

    def __init__(self, json: str):
        super().__init__()
        self.json = json


class ResourcePaginator(DjangoPaginator):
    """Pages of entries with a cheap exact count. With `entries` (an EntriesJson: PostgreSQL,
    JSON out) a page is one statement (selectors.page_json): its count, from the trigger-kept
    counts table when the condition allows it (the unfiltered list) or else with the page's ids
    from one narrow scan, and its entries as JSON written by the database. Without, the count
    comes from the counts table and the rows are sliced, or on PostgreSQL the page's ids and the
    count come from one narrow statement (selectors.page_ids) and the page's wide rows from a
    second, by id; the rows are read with read_queryset, as ResourceRow. Other lists (versions,
    refreshes) are paginated the usual way."""

    def __init__(self, object_list, per_page, *, entries=None, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self._entries = getattr(object_list, "model", None) is Resource
        self._json = entries if self._entries else None

    @cached_property
    def count(self):
        fast = selectors.resource_count(self.object_list) if self._entries else None
        return fast if fast is not None else self.object_list.count()

    def _wanted(self, number) -> int:
        try:
            wanted = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from None
        if wanted < 1:
            raise EmptyPage(self.error_messages["min_page"])
        return wanted

    def page(self, number):
        if not self._entries:
            return super().page(number)
        if self._json is not None:
            wanted = self._wanted(number)
            found = selectors.page_json(self.object_list, (wanted - 1) * self.per_page, self.per_page, self._json)
            if found is not None:
                text, self.__dict__["count"] = found
                return Page(JsonRows(text), self.validate_number(wanted), self)
        if "count" in self.__dict__:
            return self._page_sliced(number)
        fast = selectors.resource_count(self.object_list)
        if fast is not None:
            self.__dict__["count"] = fast
            return self._page_sliced(number)
        wanted = self._wanted(number)
        found = selectors.page_ids(self.object_list, (wanted - 1) * self.per_page, self.per_page)
        if found is None:
            return self._page_sliced(number)
        ids, total = found
        self.__dict__["count"] = total
        number = self.validate_number(wanted)
        rows = {r.pk: r for r in selectors.read_rows(Resource.objects.filter(pk__in=ids))}
        return Page([rows[i] for i in ids if i in rows], number, self)

    def _page_sliced(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return Page(selectors.read_rows(self.object_list, bottom, top), number, self)


class ResourcePagination(Pagination):
    entries = None  # EntriesJson for the request being paginated, from the view

    def paginate_queryset(self, queryset, request, view=None):
        self.entries = view.entries_json() if hasattr(view, "entries_json") else None
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list, per_page):  # called by PageNumberPagination.paginate_queryset
        return ResourcePaginator(object_list, per_page, entries=self.entries)

    def page_json(self) -> str | None:
        """The entries of the page just paginated as one JSON array (text), when PostgreSQL wrote them."""
        page = getattr(self, "page", None)
        return getattr(page.object_list, "json", None) if page is not None else None


class ResourceViewSet(
    PolicyViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """Catalog entries. Search with `?q=` (Chinese words), filters of API.md."""

    serializer_class = ResourceSerializer
    filterset_class = ResourceFilter
    pagination_class = ResourcePagination
    policy_actions = {
        "list": "resource.view",
        "retrieve": "resource.view",
        "create": "resource.create",
        "partial_update": "resource.update",
        "update": "resource.update",
        "destroy": "resource.delete",
        "submit": "resource.submit",
        "approve": "resource.approve",
        "return_": "resource.return",
        "retire": "resource.retire",
        "versions": "resource.view",
        "grant_impact": "resource.view",
        "refreshes": "resource.view",
        "facets": "resource.view",
        "stale": "resource.view",
        "import_": "resource.import",
        "import_template": "resource.import",
        "export": "resource.export",
    }

    def get_queryset(self):
        visible = policies.visible_resources(self.request.user)
        if self.action in ("list", "stale"):
            return visible.order_by("-updated_at", "-id")  # ResourcePaginator reads the page's rows
        if self.action == "retrieve":
            return selectors.read_queryset(visible)
        return (
            visible.select_related("source_org", "pending_revision")
            .defer("search_body", "pending_revision__search_body", "pending_revision__search_name")
            .prefetch_related("items")
            .order_by("-updated_at", "-id")
        )

    def filter_queryset(self, queryset):
        """Without any filter parameter the filter set changes nothing, and with `q` alone it
        only searches: skip building it (a fixed cost of every plain list, search, facets and
        detail request). Anything else, or a `q` the filter set would refuse, goes through it."""
        params = self.request.query_params
        names = set(params)
        if names <= {"page", "page_size"}:
            return queryset
        if names <= {"page", "page_size", "q"} and self.filterset_class is ResourceFilter:
            value = params["q"].strip()
            if len(value) <= ResourceFilter.base_filters["q"].extra["max_length"] and "\x00" not in value:
                return search.apply(queryset, value) if value else queryset
        return super().filter_queryset(queryset)

    def entries_json(self) -> EntriesJson | None:
        """How PostgreSQL writes the entries of a list page, when it can (ResourcePaginator):
        for the lists of entries (`list`, `stale`) answered by the JSON renderer."""
        if self.action not in ("list", "stale") or not isinstance(
            getattr(self.request, "accepted_renderer", None), FastJSONRenderer
        ):
            return None
        return EntriesJson.for_request(self.request)

    def _entries_page(self, queryset) -> Response:
        page = self.paginate_queryset(queryset)
        written = self.paginator.page_json() if page is not None else None
        if written is not None:
            return self.get_paginated_response(orjson.Fragment(written))
        if page is not None:
            return self.get_paginated_response(self.get_serializer(page, many=True).data)
        return Response(self.get_serializer(queryset, many=True).data)

    def list(self, request, *args, **kwargs):
        return self._entries_page(self.filter_queryset(self.get_queryset()))

    def get_serializer_class(self):
        if self.action == "partial_update":
            return ResourceUpdateSerializer
        return super().get_serializer_class()

    def get_permissions(self):
        if self.action == "refreshes" and self.request.method == "POST":
            self.policy_actions = {**self.policy_actions, "refreshes": "resource.refresh"}
        return super().get_permissions()

    def _out(self, resource: Resource, code=status.HTTP_200_OK) -> Response:
        resource = self.get_queryset().filter(pk=resource.pk).first() or resource
        return Response(self.get_serializer(resource).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = data.pop("items", [])
        source_org = data.pop("source_org", None) or request.user.org
        if source_org is None:
            raise RuleViolation(
                _("You belong to no institution, so you cannot own catalog entries."), field="source_org"
            )
        if source_org.pk != request.user.org_id:
            raise RuleViolation(_("You can create entries only for your own institution."), field="source_org")
        resource = services.resource_create(actor=request.user, source_org=source_org, data=data, items=items)
        return self._out(resource, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        resource = self.get_object()
        serializer = self.get_serializer(resource, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        items = data.pop("items", None)
        if "source_org" in data:
            if data.pop("source_org") != resource.source_org:
                raise RuleViolation(_("The source institution of an entry cannot change."), field="source_org")
        edited = services.resource_update(actor=request.user, resource=resource, data=data, items=items)
        return self._out(edited)

    def perform_destroy(self, instance):
        services.resource_delete(actor=self.request.user, resource=instance)

    # --- workflow ---------------------------------------------------------------------------

    @extend_schema(request=None, responses=ResourceSerializer, summary="Submit a draft or returned entry for review")
    @action(detail=True, methods=["post"], filterset_class=None)
    def submit(self, request, pk=None):
        resource = services.resource_workflow_target(self.get_object())
        return self._out(services.resource_submit(actor=request.user, resource=resource))

    @extend_schema(
        request=CommentSerializer, responses=ResourceSerializer, summary="Publish a submitted entry (authority)"
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def approve(self, request, pk=None):
        resource = services.resource_workflow_target(self.get_object())
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.resource_approve(actor=request.user, resource=resource, comment=data.validated_data["comment"])
        )

    @extend_schema(
        request=ReturnSerializer,
        responses=ResourceSerializer,
        summary="Return a submitted entry with a comment (authority)",
    )
    @action(detail=True, methods=["post"], url_path="return", filterset_class=None)
    def return_(self, request, pk=None):
        resource = services.resource_workflow_target(self.get_object())
        data = ReturnSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._out(
            services.resource_return(actor=request.user, resource=resource, comment=data.validated_data["comment"])
        )

    @extend_schema(request=RetireSerializer, responses=ResourceSerializer, summary="Retire a published entry")
    @action(detail=True, methods=["post"], filterset_class=None)
    def retire(self, request, pk=None):
        data = RetireSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        resource = services.resource_retire(
            actor=request.user, resource=self.get_object(), reason=data.validated_data["reason"]
        )
        return self._out(resource)

    @extend_schema(
        responses=inline_serializer(
            "GrantImpact",
            {
                "grant": serializers.IntegerField(),
                "org": serializers.IntegerField(),
                "org_name": serializers.CharField(),
                "items": serializers.ListField(child=serializers.CharField()),
                "ends": serializers.BooleanField(),
                "valid_until": serializers.DateField(),
            },
            many=True,
        ),
        summary="Grants the pending version would narrow or end (Order 809: its approval is the consent)",
        description=(
            "For an entry with a new version under review (or the version itself): each running grant that "
            "holds items the version drops, the items it would lose and whether it would end. Seen by those who "
            "see the pending version (the source institution and the reviewing authority); empty otherwise."
        ),
    )
    @action(detail=True, methods=["get"], url_path="grant-impact", filterset_class=None, pagination_class=None)
    def grant_impact(self, request, pk=None):
        resource = self.get_object()
        revision = services.resource_workflow_target(resource)
        if revision.revision_of_id is None or not policies.sees_pending_revision(request.user, revision.revision_of):
            return Response([])
        return Response(selectors.revision_grant_impact(revision))

    @extend_schema(responses=ResourceVersionSerializer(many=True), summary="Published versions with what changed")
    @action(detail=True, methods=["get"], filterset_class=None)
    def versions(self, request, pk=None):
        resource = self.get_object()
        published_id = resource.revision_of_id or resource.pk
        qs = resource.versions.model.objects.filter(resource_id=published_id).order_by("-version")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(ResourceVersionSerializer(page, many=True).data)

    @extend_schema(methods=["GET"], responses=ResourceRefreshSerializer(many=True), summary="Data refreshes (Art. 16)")
    @extend_schema(
        methods=["POST"],
        request=ResourceRefreshSerializer,
        responses={201: ResourceRefreshSerializer},
        summary="Record a data refresh (source institution or its machine client)",
    )
    @action(detail=True, methods=["get", "post"], filterset_class=None)
    def refreshes(self, request, pk=None):
        resource = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(resource.refreshes.order_by("-refreshed_at", "-id"))
            return self.get_paginated_response(ResourceRefreshSerializer(page, many=True).data)
        data = ResourceRefreshSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refresh = services.resource_refresh_record(actor=request.user, resource=resource, **data.validated_data)
        return Response(ResourceRefreshSerializer(refresh).data, status=status.HTTP_201_CREATED)

    # --- search, facets, stale ------------------------------------------------------------

    @extend_schema(
        filters=True,  # `q` and every filter of the list apply (not a list view: spectacular would leave them out)
        responses=inline_serializer(
            "ResourceFacets", {"count": serializers.IntegerField(), "facets": serializers.DictField()}
        ),
        summary="Counts per sharing type, open type, source institution, region, classification, update frequency",
    )
    @action(detail=False, methods=["get"])
    def facets(self, request):
        qs = self.filter_queryset(policies.visible_resources(request.user))
        facets = selectors.resource_facets(qs)
        count = sum(f["count"] for f in facets["sharing_type"])
        return Response({"count": count, "facets": facets})

    @extend_schema(responses=ResourceSerializer(many=True), summary="Published entries whose data is stale (Art. 16)")
    @action(detail=False, methods=["get"])
    def stale(self, request):
        return self._entries_page(selectors.stale_resources(self.filter_queryset(self.get_queryset())))

    # --- import and export ------------------------------------------------------------------

    @extend_schema(
        request={
            "multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        responses={
            201: inline_serializer(
                "ResourceImportResult",
                {
                    **ImportResultSerializer._declared_fields,  # created, resources (id, code, name, status, version, action)  # noqa: E501
                    "updated": serializers.IntegerField(
                        help_text="Entries updated by their 资源代码 (a published one: its new draft version)"
                    ),
                    "unchanged": serializers.IntegerField(
                        help_text="Rows with the code of a published entry that change nothing"
                    ),
                    "not_listed": serializers.IntegerField(help_text="Entries written beyond the 200 listed"),
                },
            ),
            202: ImportJobSerializer,
        },
        summary="Import entries from the catalog workbook (.xlsx): new drafts, or updates by 资源代码; all or nothing",
        description=(
            "A workbook of up to 512 KiB of sheet XML is imported at once: 201 with the result, or 400 with the "
            "problems (at most 200 listed in `rows` and `errors`; `problem_count` counts them all). A larger one is "
            "kept and imported by the worker: 202 with the import job (`url`, also in Location), whose `result` "
            "holds the same answer once `status` is `succeeded` or `failed`. Refused with 400 before it is read: "
            "more than 48 MiB uncompressed, a part compressed over 100 times, over 250,000 shared strings, over "
            "2,000 entries or 50,000 item rows (2,000 for one entry)."
        ),
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser], filterset_class=None)
    def import_(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise RuleViolation(_("Upload the workbook as the form field `file`."), field="file")
        if request.user.org is None:
            raise RuleViolation(_("You belong to no institution, so you cannot own catalog entries."), field="file")
        content = upload.read()
        try:
            if importexport.needs_job(content):
                job = tasks.import_job_start(
                    actor=request.user, source_org=request.user.org, content=content, filename=upload.name or ""
                )
                body = ImportJobSerializer(job, context={"request": request}).data
                return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["url"]})
            result = importexport.import_workbook(actor=request.user, source_org=request.user.org, content=content)
        except importexport.ImportFailed as exc:
            return Response(import_failed_body(exc), status=400)
        return Response(importexport.result_json(result), status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, XLSX): OpenApiTypes.BINARY}, summary="The empty import workbook with code lists")
    @action(detail=False, methods=["get"], url_path="import-template", filterset_class=None, pagination_class=None)
    def import_template(self, request):
        response = HttpResponse(importexport.template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="catalog-import-template.xlsx"'
        return response

    @extend_schema(
        # [*…], not list(…): in this class body `list` is the list action above.
        parameters=[OpenApiParameter("fmt", str, enum=[*EXPORT_FORMATS], description="csv, xlsx or dcat (JSON-LD)")],
        filters=True,  # `q` and every filter of the list apply (not a list view: spectacular would leave them out)
        auth=[{"apiKey": []}, {"cookieAuth": []}, {}],  # fmt=dcat needs no credentials (open-data harvesters)
        responses={
            (200, "text/csv"): OpenApiTypes.STR,
            (200, XLSX): OpenApiTypes.BINARY,
            (200, "application/ld+json"): OpenApiTypes.OBJECT,
        },
        summary="Export the published catalog (CSV, Excel, DCAT JSON-LD); filters apply",
        description=(
            "CSV and Excel: the published entries the caller sees. DCAT (JSON-LD, for open-data portals such as CKAN): "
            "without credentials, the published entries that are open or open on conditions (never a not-open one); "
            "with credentials, every published entry the caller sees."
        ),
    )
    @action(detail=False, methods=["get"], permission_classes=[])
    def export(self, request):
        fmt = request.query_params.get("fmt", "csv")
        harvest = fmt == "dcat" and not request.user.is_authenticated
        if not harvest:  # only the open DCAT catalog is for anyone; the rest needs the export right (401/403)
            self.permission_classes = type(self).permission_classes
            self.check_permissions(request)
        if fmt not in EXPORT_FORMATS:
            raise exceptions.ValidationError({"fmt": [_("Choose csv, xlsx or dcat.")]})
        visible = importexport.open_catalog() if harvest else policies.visible_resources(request.user)
        qs = self.filter_queryset(visible).filter(status=ResourceStatus.PUBLISHED)
        resources = importexport.export_queryset(qs)
        stamp = timezone.localdate().isoformat()
        if fmt == "csv":
            response = HttpResponse(importexport.export_csv(resources), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="catalog-{stamp}.csv"'
        elif fmt == "xlsx":
            response = HttpResponse(importexport.export_xlsx(resources), content_type=XLSX)
            response["Content-Disposition"] = f'attachment; filename="catalog-{stamp}.xlsx"'
        else:
            body = importexport.export_dcat(
                resources,
                base_url=request.build_absolute_uri("/"),
                region=importexport.catalog_region(request.query_params.get("region")),
            )
            response = HttpResponse(body, content_type="application/ld+json; charset=utf-8")
            response["Vary"] = (
                "Accept-Language, Authorization, Cookie"  # what anyone sees differs from what a caller sees
            )
        return response

    @property
    def extra_query_params(self):
        return ("fmt",) if getattr(self, "action", None) == "export" else ()


class ResourceFilingViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Filings (备案) of published no-sharing entries with the data authority (Art. 13)."""

    serializer_class = ResourceFilingSerializer
    filterset_class = ResourceFilingFilter
    policy_actions = {"list": "resource_filing.view", "retrieve": "resource_filing.view"}

    def get_queryset(self):
        return (
            policies.visible_resource_filings(self.request.user).select_related("resource").order_by("-filed_at", "-id")
        )


class CatalogTaskViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin):
    """Catalog-update tasks (Art. 11): the institution's legal basis changed; `?overdue=true`
    lists those past the deadline of their open step."""

    serializer_class = CatalogTaskSerializer
    filterset_class = CatalogTaskFilter
    policy_actions = {
        "list": "catalog_task.view",
        "retrieve": "catalog_task.view",
        "create": "catalog_task.create",
        "complete": "catalog_task.complete",
        "close": "catalog_task.close",
    }

    def get_queryset(self):
        return policies.visible_catalog_tasks(self.request.user).order_by("-created_at", "-id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        org = data.pop("org", None) or self.request.user.org
        if org is None:
            raise RuleViolation(_("Name the institution whose legal basis changed."), field="org")
        serializer.instance = services.catalog_task_create(
            actor=self.request.user, org=org, reason=data.get("reason", ""), basis=data.get("basis", "")
        )

    @extend_schema(
        request=CommentSerializer, responses=CatalogTaskSerializer, summary="The institution has updated its catalog"
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def complete(self, request, pk=None):
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.catalog_task_complete(
            actor=request.user, task=self.get_object(), comment=data.validated_data["comment"]
        )
        return Response(CatalogTaskSerializer(task).data)

    @extend_schema(
        request=CommentSerializer, responses=CatalogTaskSerializer, summary="The authority has reviewed the update"
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def close(self, request, pk=None):
        data = CommentSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        task = services.catalog_task_close(
            actor=request.user, task=self.get_object(), comment=data.validated_data["comment"]
        )
        return Response(CatalogTaskSerializer(task).data)


def import_failed_body(exc: importexport.ImportFailed) -> dict:
    """API.md's error body for an import refused: `detail` names the first problem and how
    many there are; `errors` and `rows` list the first 200, `problem_count` counts them all."""
    errors: dict[str, list[str]] = {}
    for e in exc.rows:  # "数据资源!3 共享类型", "数据资源" for a sheet, "file" for the file itself
        key = (
            (e["sheet"] or "file")
            + (f"!{e['row']}" if e["row"] is not None else "")
            + (f" {e['column']}" if e["column"] else "")
        )
        errors.setdefault(key, []).append(e["message"])
    first = exc.rows[0]
    if first["row"] is None and not first["sheet"]:
        detail = _("Nothing was imported: %(message)s") % {"message": first["message"]}
    else:
        if first["row"] is None:
            where = _("sheet %(sheet)s") % first
        elif first["column"]:
            where = _("sheet %(sheet)s, row %(row)s, column %(column)s") % first
        else:
            where = _("sheet %(sheet)s, row %(row)s") % first
        if exc.count == 1:
            detail = _("Nothing was imported: %(where)s: %(message)s") % {"where": where, "message": first["message"]}
        else:
            detail = _("Nothing was imported: %(n)s problems. The first, %(where)s: %(message)s") % {
                "n": exc.count,
                "where": where,
                "message": first["message"],
            }
    return {"detail": detail, "code": "import_failed", "errors": errors, **importexport.failure_json(exc)}


class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PolicyViewSet):
    """Workbook imports run by the worker (POST /resources/import/ answered 202): their progress
    and, once done, their result. Each is visible to the person who uploaded it only."""

    serializer_class = ImportJobSerializer
    filterset_class = None
    policy_actions = {"list": "import_job.view", "retrieve": "import_job.view"}

    def get_queryset(self):
        return policies.visible_import_jobs(self.request.user).defer("content").order_by("-created_at", "-id")


class SourceConflictViewSet(PolicyViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Source conflicts (Art. 6(5), Art. 14: one data element, one source): a second institution
    claimed a data element another holds; the data authority common to the two designates the
    source (`designate/`: the holder keeps it, or the claim moves to the claimant)."""

    serializer_class = SourceConflictSerializer
    filterset_class = SourceConflictFilter
    policy_actions = {
        "list": "source_conflict.view",
        "retrieve": "source_conflict.view",
        "designate": "source_conflict.designate",
    }

    def get_queryset(self):
        return (
            policies.visible_source_conflicts(self.request.user)
            .select_related("holder", "claimant")
            .order_by("-created_at", "-id")
        )

    @extend_schema(request=SourceDesignationSerializer, responses=SourceConflictSerializer)
    @action(detail=True, methods=["post"])
    def designate(self, request, pk=None):
        conflict = self.get_object()
        body = SourceDesignationSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        conflict = services.source_conflict_designate(
            actor=request.user, conflict=conflict, org=data["org"], comment=data["comment"]
        )
        return Response(SourceConflictSerializer(self.get_queryset().get(pk=conflict.pk)).data)
