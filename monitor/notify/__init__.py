"""Notify: the durable alerts outbox and its delivery, channels (email, webhook), health events and the feed.

Each channel kind is one small class in its own module, named by the `type:` word users write in
sources.yaml; its docstring is the user documentation (`channel_kinds()` in `channels` lists them).
"""
