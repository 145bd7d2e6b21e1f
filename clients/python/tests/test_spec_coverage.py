"""Every route of api/openapi.json has a method on both clients, every path and query
parameter and request field an argument of it (or a key of the TypedDict its items take), and
every answer schema a TypedDict with its properties: so the client and the spec cannot drift."""

from __future__ import annotations

import inspect
import json
import re
import typing

import pytest

import mrl
from mrl import types

from conftest import REPO

SPEC = json.loads((REPO / "api" / "openapi.json").read_text())
SCHEMAS = SPEC["components"]["schemas"]
METHODS = ("get", "put", "post", "delete", "patch")
# The path parameter `name` is the index's name: the methods call it `index`.
ARGUMENT_OF_PATH_PARAMETER = {"name": "index"}

OPERATIONS = [
    (path, verb, operation, item.get("parameters", []) + operation.get("parameters", []))
    for path, item in SPEC["paths"].items()
    for verb, operation in item.items()
    if verb in METHODS
]


def method_name(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def resolve(schema: dict) -> dict:
    if "$ref" in schema:
        return SCHEMAS[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def typed_dict_keys(cls: type) -> set[str]:
    return set(cls.__required_keys__) | set(cls.__optional_keys__)


def items_type(annotation: object) -> type | None:
    """The TypedDict inside an argument's annotation such as `Sequence[FileRecord] | None`."""
    for arg in typing.get_args(annotation):
        if typing.is_typeddict(arg):
            return arg
        found = items_type(arg)
        if found is not None:
            return found
    return None


# Clients as a user holds them (nothing connects before a request).
CLIENTS = [mrl.Client("/nowhere.sock"), mrl.AsyncClient("/nowhere.sock")]


@pytest.mark.parametrize("client", CLIENTS, ids=lambda client: type(client).__name__)
@pytest.mark.parametrize(("path", "verb", "operation", "parameters"), OPERATIONS, ids=[f"{v.upper()} {p}" for p, v, _, _ in OPERATIONS])
def test_every_route_and_field_has_a_method_and_argument(client, path, verb, operation, parameters) -> None:
    name = method_name(operation["operationId"])
    method = getattr(client, name, None)
    assert method is not None, f"{verb.upper()} {path}: no method {type(client).__name__}.{name}"
    signature = inspect.signature(method)
    hints = typing.get_type_hints(method)
    wanted = {ARGUMENT_OF_PATH_PARAMETER.get(p["name"], p["name"]) for p in parameters}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    fields = resolve(body).get("properties", {}) if body else {}
    wanted |= set(fields)
    assert wanted <= set(signature.parameters), f"{name} lacks {sorted(wanted - set(signature.parameters))}"
    for field, schema in fields.items():
        item_schema = resolve(schema.get("items", {}))
        if "properties" in item_schema:
            item_type = items_type(hints[field])
            assert item_type is not None, f"{name}({field}=...) should take TypedDicts of {sorted(item_schema['properties'])}"
            assert typed_dict_keys(item_type) == set(item_schema["properties"]), f"{name}({field}=...): {item_type.__name__}"


@pytest.mark.parametrize(("path", "verb", "operation", "parameters"), OPERATIONS, ids=[f"{v.upper()} {p}" for p, v, _, _ in OPERATIONS])
def test_every_answer_has_a_typed_dict_of_its_fields(path, verb, operation, parameters) -> None:
    for status, answer in operation["responses"].items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
        if not status.startswith("2") or "$ref" not in schema:
            continue
        schema_name = schema["$ref"].rsplit("/", 1)[-1]
        answer_type = getattr(types, schema_name, None)
        assert answer_type is not None, f"{verb.upper()} {path}: no mrl.types.{schema_name}"
        assert typed_dict_keys(answer_type) == set(SCHEMAS[schema_name]["properties"]), schema_name
        return_type = typing.get_type_hints(getattr(CLIENTS[0], method_name(operation["operationId"])))["return"]
        assert typing.get_args(return_type) == (answer_type,), f"{operation['operationId']} should answer {schema_name}"
