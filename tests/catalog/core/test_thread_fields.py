"""catalog.core.api.fast.ThreadFieldsMixin: input serializers whose fields are copied once per
thread validate each body on its own — errors, partial updates, the caller's language — and
threads never share the field objects."""

import threading

from django.utils import translation

from sharing.api.serializers import ApproveSerializer, SharingRequestWriteSerializer

BODY = {
    "kind": "sharing",
    "resource": 1,
    "items": ["A01"],
    "scenario": "场景",
    "purpose": "用途",
    "purpose_category": "public_duty",
    "duty_basis": "依据",
    "requested_until": "2027-01-01",
    "contact_name": "张三",
    "system_name": "系统",
    "system_network": "extranet",
}


def test_each_body_is_validated_on_its_own_in_the_callers_language():
    good = SharingRequestWriteSerializer(data=BODY)
    assert good.is_valid(), good.errors
    with translation.override("en"):
        bad = SharingRequestWriteSerializer(data={**BODY, "items": "not a list", "resource": 0})
        assert not bad.is_valid()
        assert set(bad.errors) == {"items", "resource"}
        assert "list" in str(bad.errors["items"][0])
    with translation.override("zh-hans"):
        bad = SharingRequestWriteSerializer(data={"resource": "x"})
        assert not bad.is_valid()
        assert "整数" in str(bad.errors["resource"][0]) and "scenario" in bad.errors
    partial = SharingRequestWriteSerializer(data={"scenario": "新场景"}, partial=True)
    assert partial.is_valid(), partial.errors
    assert partial.validated_data == {"scenario": "新场景"}  # no defaults on a partial update
    again = SharingRequestWriteSerializer(data=BODY)
    assert again.is_valid() and again.validated_data["submit"] is False


def test_threads_do_not_share_fields():
    seen = {}

    def grab(name):
        serializer = ApproveSerializer(data={"comment": name})
        assert serializer.is_valid()
        seen[name] = id(serializer.fields["comment"])

    threads = [threading.Thread(target=grab, args=(f"t{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    grab("main")
    assert len(set(seen.values())) == 3
