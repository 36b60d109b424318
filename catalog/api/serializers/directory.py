"""Serializers of the directory: regions, institutions, users, API keys."""

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ...choices import ApiKeyScope, Role
from ...models import ApiKey, Organization, Region, User


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "parent"]


class OrganizationSerializer(serializers.ModelSerializer):
    level = serializers.CharField(source="region.level", read_only=True)

    class Meta:
        model = Organization
        fields = ["id", "code", "name", "kind", "region", "parent", "level", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs = {"code": {"validators": []}}  # uniqueness and the check character: the service
        validators = []  # one authority per region: the service names the field and the holder


class UserSerializer(serializers.ModelSerializer):
    roles = serializers.ListField(child=serializers.ChoiceField(choices=Role.choices), required=False)
    password = serializers.CharField(write_only=True, required=False, allow_blank=False, max_length=128)

    class Meta:
        model = User
        fields = [
            "id",
            "username",
            "org",
            "roles",
            "email",
            "is_active",
            "first_name",
            "last_name",
            "password",
            "last_login",
            "date_joined",
        ]
        read_only_fields = ["last_login", "date_joined"]
        extra_kwargs = {"username": {"validators": []}}

    def validate(self, attrs):
        """The password checks with the user it is for, as created or updated by this request
        (UserAttributeSimilarityValidator compares it with the username, name and e-mail)."""
        password = attrs.get("password")
        if password:
            names = ("username", "email", "first_name", "last_name")
            user = User(**{name: attrs.get(name, getattr(self.instance, name, "")) for name in names})
            try:
                validate_password(password, user)
            except DjangoValidationError as exc:
                raise serializers.ValidationError({"password": exc.messages}) from exc
        return attrs


class MeSerializer(serializers.ModelSerializer):
    org = OrganizationSerializer(read_only=True)
    roles = serializers.ListField(child=serializers.CharField(), read_only=True)
    is_administrator = serializers.BooleanField(read_only=True)
    api_key = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "org", "roles", "is_administrator", "api_key"]

    def get_api_key(self, obj) -> dict | None:
        key = self.context["request"].auth
        if isinstance(key, ApiKey):
            return {"prefix": key.prefix, "scope": key.scope, "expires_at": key.expires_at}
        return None


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "created_at", "expires_at", "revoked_at", "last_used_at", "user"]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    scope = serializers.ChoiceField(choices=ApiKeyScope.choices, default=ApiKeyScope.READ_WRITE)
    expires_at = serializers.DateTimeField(required=False)


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=_("Shown once; only its hash is stored."))

    class Meta(ApiKeySerializer.Meta):
        fields = ["key", *ApiKeySerializer.Meta.fields]
        read_only_fields = fields
