"""Identity of the plugin, shared by the manifest checks, the User-Agent and reports."""

PLUGIN_ID = "tagManager"
PLUGIN_NAME = "tagManager"
PLUGIN_VERSION = "0.1.0"
USER_AGENT = f"{PLUGIN_ID}/{PLUGIN_VERSION} (Stash plugin)"
