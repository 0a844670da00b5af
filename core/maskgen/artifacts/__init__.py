"""What a run leaves behind and how it travels: the checkpoint directory layout, writing and strict
loading of checkpoints, resolving and pulling ``hf://`` references, pushing to the Hub, model cards.

Imports run one way: layout <- hub_pull <- checkpoint <- hub_push, and modelcard <- hub_push.
"""
