"""Finds the actions of the Python environment the way upstream's providers do.

* ``mistral.actions`` entry points: ``name = module:Class`` (upstream's legacy provider);
* ``mistral.generators`` entry points: factories of generators whose ``create_actions()``
  describe generated classes (mistral-extra's OpenStack actions);
* ``mistral.action.providers`` entry points from other packages: ``cls(name).find_all()``.

Every action becomes a mistral-lib action descriptor kept in ``DESCRIPTORS`` (the runner
instantiates through it). A failure to load one entry point is reported in ``errors`` and never
stops the discovery of the others.
"""

import fnmatch
import logging
from importlib import metadata

from mistral_lib import actions as ml_actions
from mistral_lib import utils as ml_utils
from mistral_lib.utils import inspect_utils

from mistral_rs_actions import settings

LOG = logging.getLogger(__name__)

# name -> descriptor, filled by discover()
DESCRIPTORS = {}

# Upstream's own providers (legacy/adhoc/dynamic/test) are what mistral-rs implements natively.
_OWN_PROVIDER_PREFIX = "mistral."


class GeneratedActionDescriptor(ml_actions.PythonActionDescriptor):
    """A generated action: description and parameters come from the generator, not from the
    (shared) base class."""

    def __init__(self, name, action_cls, action_cls_attrs, desc, params_spec):
        super().__init__(name, action_cls, action_cls_attrs, namespace="")
        if desc:
            self._desc = desc
        if params_spec:
            self._params_spec = params_spec

    def __repr__(self):
        return "Generated Python action [name=%s, cls=%s, params_spec=%s]" % (
            self.name, self.action_class, self.params_spec)


def _filtered(allowlist, denylist, value):
    """True if the allow/deny lists (fnmatch patterns; the allowlist wins) drop ``value``."""
    if allowlist:
        return not any(fnmatch.fnmatchcase(value, p) for p in allowlist)
    if denylist:
        return any(fnmatch.fnmatchcase(value, p) for p in denylist)
    return False


def _entry_points(group):
    return sorted(metadata.entry_points(group=group), key=lambda ep: ep.name)


def _describe_error(ep, e):
    return "%s entry point %r (%s): %s: %s" % (ep.group, ep.name, ep.value, type(e).__name__, e)


def _load_plugins(found, errors):
    allow, deny = settings.get("allowlist"), settings.get("denylist")
    for ep in _entry_points("mistral.actions"):
        if ep.name in found or _filtered(allow, deny, ep.name):
            continue
        try:
            cls = ep.load()
            if settings.get("only_builtin_actions") and not cls.__module__.startswith("mistral."):
                continue
            desc = ml_actions.PythonActionDescriptor(ep.name, cls, namespace="")
        except Exception as e:
            errors.append(_describe_error(ep, e))
            continue
        found[ep.name] = desc


def _load_generators(found, errors):
    allow, deny = settings.get("allowlist"), settings.get("denylist")
    for ep in _entry_points("mistral.generators"):
        try:
            generators = list(ep.load()() or [])
        except Exception as e:
            errors.append(_describe_error(ep, e))
            continue
        for gen in generators:
            try:
                actions = gen.create_actions()
            except Exception as e:
                errors.append("generator %r of %s: %s: %s" % (gen, ep.value, type(e).__name__, e))
                continue
            for a in actions:
                name = a.get("name")
                if not name or name in found or _filtered(allow, deny, name):
                    continue
                try:
                    found[name] = GeneratedActionDescriptor(
                        name, gen.base_action_class,
                        inspect_utils.get_public_fields(a["class"]),
                        a.get("description"), a.get("arg_list"))
                except Exception as e:
                    errors.append("generated action %r of %s: %s: %s"
                                  % (name, ep.value, type(e).__name__, e))


def _load_providers(found, errors):
    allow, deny = settings.get("providers_allowlist"), settings.get("providers_denylist")
    for ep in _entry_points("mistral.action.providers"):
        if ep.value.startswith(_OWN_PROVIDER_PREFIX) or _filtered(allow, deny, ep.name):
            continue
        try:
            provider = ep.load()(ep.name)
            descs = list(provider.find_all())
        except Exception as e:
            errors.append(_describe_error(ep, e))
            continue
        for d in descs:
            if d.name not in found:
                found[d.name] = d


def _metadata(desc):
    """What the server needs of one descriptor: API listing and engine input checks."""
    spec = desc.params_spec or ""
    # Upstream skips the whole input check when the signature takes **kwargs.
    open_params = "**" in spec
    params = []
    if not open_params:
        for k, v in ml_utils.get_dict_from_string(spec).items():
            params.append({"name": k, "required": v is ml_utils.NotDefined})
    try:
        is_sync = None
        cls = getattr(desc, "action_class", None)
        if cls is not None and not getattr(desc, "action_class_attributes", None):
            # is_sync() is an instance method; most classes answer it without state.
            is_sync = bool(cls.is_sync(object.__new__(cls)))
    except Exception:
        is_sync = None
    return {
        "name": desc.name,
        "description": desc.description or "",
        "input": spec,
        "class": desc.action_class_name,
        "params": params,
        "open_params": open_params,
        "is_sync": is_sync,
    }


def discover():
    found, errors = {}, []
    for skip in settings.get("skip") or []:
        found[skip] = None  # names served natively keep precedence
    if settings.get("load_action_plugins"):
        _load_plugins(found, errors)
    if settings.get("load_action_generators"):
        _load_generators(found, errors)
    _load_providers(found, errors)
    DESCRIPTORS.clear()
    actions = []
    for name, desc in found.items():
        if desc is None:
            continue
        try:
            actions.append(_metadata(desc))
        except Exception as e:
            errors.append("action %r (%r): broken signature: %s: %s"
                          % (name, desc, type(e).__name__, e))
            continue
        DESCRIPTORS[name] = desc
    return {"actions": actions, "errors": errors}
