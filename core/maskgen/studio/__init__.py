"""``maskgen studio``: a web page (Gradio) over the library's generate, mix, project, walk and translate.

One job per module, top to bottom:

* ``server``    builds the page and starts it (binding, the queue, the temp area, no share link);
* ``layout``    the Gradio page: tabs, widgets, events; turns errors into messages in the page;
* ``handlers``  what each button does, as plain functions of the library (``maskgen.apps``,
  ``maskgen.artifacts``, ``maskgen.translation``): the same calls the CLI makes, no second copy;
* ``catalogue`` which checkpoints the studio may read (the allowed roots) and the loaded models;
* ``uploads``   what an uploaded file must be before it is decoded (in the temp area, an image,
  under the pixel limit);
* ``jobs``      cancelling long work, per browser session.

Only ``server`` and ``layout`` import Gradio (an optional extra, ``maskgen[studio]``).
"""
