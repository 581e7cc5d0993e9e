"""Platform-neutral command handlers: each takes a ``RequestContext`` and returns a ``Reply``.

``handlers.registry`` lists the commands (names, summaries, parameters) for help texts and for
the platforms' command menus; ``handlers.dispatch`` is the one entry point every adapter calls.
"""
