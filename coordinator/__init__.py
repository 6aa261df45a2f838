"""The callfleet coordinator: broker, agent registry, placement, object ids, client and CLI.

Imports ``proto`` only, never ``agent`` (agents are separate processes).
"""
