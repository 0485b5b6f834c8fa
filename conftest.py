"""Registers the nejumi plugin for a repository checkout (an installed package registers it by entry point)."""

pytest_plugins = ["nejumi_plugin.plugin"]
