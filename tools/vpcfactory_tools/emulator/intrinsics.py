"""CloudFormation's intrinsic functions, resolved over a (translated) template.

Supported: `Ref` (parameters, pseudo parameters, resources), `Fn::GetAtt`, `Fn::Sub` (both
forms), `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::If` with the template's `Conditions`
(`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`) and `AWS::NoValue`.
Anything else (`Fn::ImportValue`, `Fn::FindInMap`, ...), a malformed intrinsic (wrong number or
type of arguments, as CloudFormation checks them) or a reference that cannot be resolved raises
`IntrinsicError` naming where it is (`Resources.X.Properties....`): nothing is skipped.

Resources are resolved through two callbacks the deployer gives: `ref(logical_id)` (what `Ref`
returns: a function's name, a role's name, a state machine's ARN ...) and
`get_att(logical_id, attribute)`. A resource whose `Condition` is false does not exist: any
reference to it is an error (CloudFormation refuses such a template too).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

NO_VALUE = object()  # what {"Ref": "AWS::NoValue"} resolves to: the property or item is dropped

INTRINSICS = {
    "Ref",
    "Condition",
    "Fn::GetAtt",
    "Fn::Sub",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::If",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
    "Fn::ImportValue",
    "Fn::FindInMap",
    "Fn::GetAZs",
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::Length",
    "Fn::ToJsonString",
    "Fn::Transform",
    "Fn::ForEach",
}
SUPPORTED = {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::Join", "Fn::Select", "Fn::Split", "Fn::If"}
CONDITION_FUNCTIONS = {"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class IntrinsicError(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


def pseudo_parameters(*, region: str, account_id: str, stack_name: str, partition: str | None = None) -> dict[str, str]:
    if partition is None:
        partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return {
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": partition,
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:{partition}:cloudformation:{region}:{account_id}:stack/{stack_name}/emulated",
        "AWS::URLSuffix": suffix,
    }


def _missing_ref(logical_id: str) -> Any:
    raise KeyError(logical_id)


def _missing_att(logical_id: str, attribute: str) -> Any:
    raise KeyError(f"{logical_id}.{attribute}")


class Resolver:
    def __init__(
        self,
        template: Mapping[str, Any],
        *,
        parameter_values: Mapping[str, Any] | None = None,
        pseudo: Mapping[str, str] | None = None,
        ref: Callable[[str], Any] = _missing_ref,
        get_att: Callable[[str, str], Any] = _missing_att,
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Any] = template.get("Resources") or {}
        self.pseudo = dict(pseudo or pseudo_parameters(region="us-east-1", account_id="123456789012", stack_name="s"))
        self._ref = ref
        self._get_att = get_att
        self.parameters = self._parameters(dict(parameter_values or {}))
        self._conditions: dict[str, bool] = {}
        self._evaluating: list[str] = []

    # -- parameters and conditions ------------------------------------------------------------
    def _parameters(self, given: dict[str, Any]) -> dict[str, Any]:
        declared = self.template.get("Parameters") or {}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise IntrinsicError("Parameters", f"values given for parameters the template does not declare: {unknown}")
        values: dict[str, Any] = {}
        for name, spec in declared.items():
            if name in given:
                raw = given[name]
            elif isinstance(spec, dict) and "Default" in spec:
                raw = spec["Default"]
            else:
                raise IntrinsicError(f"Parameters.{name}", "has no Default and no value was given")
            kind = str(spec.get("Type", "String")) if isinstance(spec, dict) else "String"
            if kind.startswith("List<") or kind == "CommaDelimitedList":
                values[name] = raw if isinstance(raw, list) else [part.strip() for part in str(raw).split(",")]
            else:
                values[name] = str(raw).lower() if isinstance(raw, bool) else str(raw)
        return values

    def condition(self, name: Any, where: str = "Conditions") -> bool:
        if not isinstance(name, str):
            raise IntrinsicError(where, f"a condition name must be a string, not {name!r}")
        if name in self._conditions:
            return self._conditions[name]
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise IntrinsicError(where, f"no condition {name!r} in Conditions")
        if name in self._evaluating:
            raise IntrinsicError(f"Conditions.{name}", f"circular condition: {' -> '.join([*self._evaluating, name])}")
        self._evaluating.append(name)
        try:
            value = self._condition_value(conditions[name], f"Conditions.{name}")
        finally:
            self._evaluating.pop()
        self._conditions[name] = value
        return value

    def _condition_value(self, node: Any, where: str) -> bool:
        if not (isinstance(node, dict) and len(node) == 1):
            raise IntrinsicError(where, f"a condition must be one of {sorted(CONDITION_FUNCTIONS)}, not {node!r}")
        ((fn, arg),) = node.items()
        at = f"{where}.{fn}"
        if fn == "Condition":
            return self.condition(arg, at)
        if fn == "Fn::Equals":
            args = self._args(arg, at, 2, 2)
            left, right = (self._scalar(self.resolve(a, f"{at}[{i}]"), f"{at}[{i}]") for i, a in enumerate(args))
            return left == right
        if fn == "Fn::Not":
            (only,) = self._args(arg, at, 1, 1)
            return not self._condition_value(only, f"{at}[0]")
        if fn in ("Fn::And", "Fn::Or"):
            args = self._args(arg, at, 2, 10)
            values = [self._condition_value(a, f"{at}[{i}]") for i, a in enumerate(args)]
            return all(values) if fn == "Fn::And" else any(values)
        raise IntrinsicError(where, f"{fn} is not a condition function")

    def deployed(self, logical_id: str) -> bool:
        """False for a resource whose Condition is false (CloudFormation does not create it)."""
        resource = self.resources.get(logical_id)
        if not isinstance(resource, dict):
            raise IntrinsicError(f"Resources.{logical_id}", "no such resource")
        if "Condition" not in resource:
            return True
        return self.condition(resource["Condition"], f"Resources.{logical_id}.Condition")

    # -- values -------------------------------------------------------------------------------
    def resolve(self, value: Any, where: str) -> Any:
        """`value` with every intrinsic resolved; NO_VALUE where the whole value is AWS::NoValue."""
        if isinstance(value, dict):
            # "Condition" is a plain key here (an IAM statement's); condition functions live in Conditions.
            intrinsic = [key for key in value if key != "Condition" and (key in INTRINSICS or key.startswith("Fn::"))]
            if intrinsic:
                if len(value) != 1:
                    raise IntrinsicError(
                        where, f"{intrinsic[0]} must be the only key of its object, found {sorted(value)}"
                    )
                ((fn, arg),) = value.items()
                return self._intrinsic(fn, arg, f"{where}.{fn}")
            out = {}
            for key, item in value.items():
                resolved = self.resolve(item, f"{where}.{key}")
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            items = [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [item for item in items if item is not NO_VALUE]
        return value

    def _intrinsic(self, fn: str, arg: Any, where: str) -> Any:
        if fn == "Ref":
            return self._ref_value(arg, where)
        if fn == "Fn::GetAtt":
            return self._get_att_value(arg, where)
        if fn == "Fn::Sub":
            return self._sub(arg, where)
        if fn == "Fn::Join":
            delimiter, items = self._args(arg, where, 2, 2)
            if not isinstance(delimiter, str):
                raise IntrinsicError(where, f"the delimiter must be a string, not {delimiter!r}")
            values = self._list(self.resolve(items, f"{where}[1]"), f"{where}[1]")
            return delimiter.join(self._scalar(v, f"{where}[1][{i}]") for i, v in enumerate(values))
        if fn == "Fn::Select":
            index, items = self._args(arg, where, 2, 2)
            index = self.resolve(index, f"{where}[0]")
            digits = isinstance(index, str) and index.isdigit()
            if isinstance(index, bool) or not ((isinstance(index, int) and index >= 0) or digits):
                raise IntrinsicError(where, f"the index must be a non-negative integer, not {index!r}")
            values = self._list(self.resolve(items, f"{where}[1]"), f"{where}[1]")
            if int(index) >= len(values):
                raise IntrinsicError(where, f"index {index} is out of range of a list of {len(values)}")
            return values[int(index)]
        if fn == "Fn::Split":
            delimiter, source = self._args(arg, where, 2, 2)
            if not isinstance(delimiter, str) or not delimiter:
                raise IntrinsicError(where, f"the delimiter must be a non-empty string, not {delimiter!r}")
            return self._scalar(self.resolve(source, f"{where}[1]"), f"{where}[1]").split(delimiter)
        if fn == "Fn::If":
            name, when_true, when_false = self._args(arg, where, 3, 3)
            chosen = (1, when_true) if self.condition(name, f"{where}[0]") else (2, when_false)
            return self.resolve(chosen[1], f"{where}[{chosen[0]}]")
        if fn in CONDITION_FUNCTIONS:
            raise IntrinsicError(where, f"{fn} is allowed only in Conditions (and as Fn::If's condition)")
        raise IntrinsicError(where, f"{fn} is not supported by the emulator")

    @staticmethod
    def _args(arg: Any, where: str, least: int, most: int) -> list[Any]:
        if not isinstance(arg, list) or not least <= len(arg) <= most:
            count = f"exactly {least}" if least == most else f"{least} to {most}"
            found = f"{len(arg)}" if isinstance(arg, list) else f"a {type(arg).__name__}"
            raise IntrinsicError(where, f"takes a list of {count} arguments, found {found}")
        return arg

    @staticmethod
    def _scalar(value: Any, where: str) -> str:
        if isinstance(value, bool):
            return str(value).lower()
        if isinstance(value, (str, int, float)):
            return str(value)
        raise IntrinsicError(where, f"expected a string, found {value!r}")

    @staticmethod
    def _list(value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise IntrinsicError(where, f"expected a list, found {value!r}")
        return value

    def _ref_value(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise IntrinsicError(where, f"Ref takes a name, not {name!r}")
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name.startswith("AWS::"):
            if name in self.pseudo:
                return self.pseudo[name]
            raise IntrinsicError(where, f"unknown pseudo parameter {name}")
        self._existing(name, where)
        try:
            return self._ref(name)
        except KeyError:
            kind = self.resources[name].get("Type")
            raise IntrinsicError(where, f"the emulator cannot resolve Ref {name} ({kind})") from None

    def _existing(self, logical_id: str, where: str) -> None:
        if logical_id not in self.resources:
            raise IntrinsicError(where, f"{logical_id} is neither a parameter nor a resource of the template")
        if not self.deployed(logical_id):
            raise IntrinsicError(where, f"{logical_id} is not created (its Condition is false)")

    def _get_att_value(self, arg: Any, where: str) -> Any:
        if isinstance(arg, str) and "." in arg:
            arg = arg.split(".", 1)
        if not (isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str)):
            raise IntrinsicError(where, f"takes [LogicalId, Attribute], not {arg!r}")
        logical_id, attribute = arg[0], self.resolve(arg[1], f"{where}[1]")
        if not isinstance(attribute, str):
            raise IntrinsicError(where, f"the attribute name must be a string, not {attribute!r}")
        self._existing(logical_id, where)
        try:
            return self._get_att(logical_id, attribute)
        except KeyError:
            kind = self.resources[logical_id].get("Type")
            raise IntrinsicError(where, f"the emulator cannot resolve {logical_id}.{attribute} ({kind})") from None

    def _sub(self, arg: Any, where: str) -> str:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            text, given = self._args(arg, where, 2, 2)
            if not isinstance(given, dict):
                raise IntrinsicError(where, f"the variables must be a map, not {given!r}")
            variables = {
                k: self._scalar(self.resolve(v, f"{where}[1].{k}"), f"{where}[1].{k}") for k, v in given.items()
            }
        else:
            text = arg
        if not isinstance(text, str):
            raise IntrinsicError(where, f"the template must be a string, not {text!r}")

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            name = name.strip()
            if name in variables:
                return variables[name]
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self._scalar(self._get_att_value([logical_id, attribute], where), where)
            value = self._ref_value(name, where)
            if value is NO_VALUE:
                raise IntrinsicError(where, "AWS::NoValue cannot be substituted")
            return self._scalar(value, where)

        return _SUB_VARIABLE.sub(one, text)
