"""What the evaluation writes for people: evaluating a run directory (:mod:`.runs`, the one path of
``maskgen report`` and ``maskgen compare``), the one metric table both show (:mod:`.tables`) and
``maskgen report``'s Markdown and figure (:mod:`.report`)."""
