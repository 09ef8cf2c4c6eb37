"""Settings received from the server: discovery knobs and the oslo.config options that
mistral-extra reads from Mistral's own configuration without registering them."""

import logging

_settings = {
    "load_action_plugins": True,
    "load_action_generators": True,
    "only_builtin_actions": False,
    "allowlist": [],
    "denylist": [],
    "providers_allowlist": [],
    "providers_denylist": [],
    "skip": [],
}


def get(key):
    return _settings.get(key)


def init(config):
    # Python log records (actions, client libraries) go to the server's stderr, marked as such.
    logging.basicConfig(level=logging.WARNING,
                        format="python[%(process)d] %(levelname)s %(name)s: %(message)s")
    for k in _settings:
        if k in config and config[k] is not None:
            _settings[k] = config[k]
    _init_oslo_config(config)


def _init_oslo_config(config):
    try:
        from oslo_config import cfg
    except ImportError:  # actions that do not use oslo.config work without it
        return
    opts = {
        "pecan": [cfg.BoolOpt("auth_enable", default=True)],
        "api": [cfg.HostAddressOpt("host", default="0.0.0.0"),
                cfg.PortOpt("port", default=8989)],
        "keystone_authtoken": [cfg.StrOpt("www_authenticate_uri"),
                               cfg.StrOpt("region_name"),
                               cfg.StrOpt("auth_type"),
                               cfg.StrOpt("admin_user"),
                               cfg.StrOpt("admin_password", secret=True),
                               cfg.StrOpt("admin_tenant_name")],
    }
    for group, group_opts in opts.items():
        for opt in group_opts:
            try:
                cfg.CONF.register_opt(opt, group=group)
            except cfg.DuplicateOptError:
                pass  # already registered (e.g. by an installed mistral package)
    files = [f for f in (config.get("config_files") or [])]
    try:
        cfg.CONF([], project="mistral", default_config_files=files)
    except cfg.Error as e:
        raise RuntimeError("cannot load %s: %s" % (files, e))
    # What the server itself runs with wins over the file (it may come from flags/env).
    for (group, key), value in (("pecan", "auth_enable"), config.get("auth_enable")), \
            (("api", "host"), config.get("api_host")), (("api", "port"), config.get("api_port")):
        if value is not None:
            cfg.CONF.set_override(key, value, group=group)
