"""``maskgen studio``: a web page (Gradio) over the library's generate, mix, project, walk and translate,
for a designer who has never trained a model (plain words, large masks, one click to a first result).

One job per module, top to bottom:

* ``server``     builds the page and starts it (binding, login, the queue, the temp area, no share link);
* ``layout``     puts the page together: the model list (``picker``), one module per tab (``tab_generate``,
  ``tab_mix``, ``tab_project``, ``tab_walk``, ``tab_colour``, ``tab_train``) and the API (``endpoints``);
* ``ui``         what the tabs share: a refusal said next to its button, range checks on typed values;
* ``words``      the page's plain names for the engineer's settings, their ranges and refusals;
* ``handlers``   what each button does, as plain functions of the library (``maskgen.apps``,
  ``maskgen.artifacts``, ``maskgen.translation``): the same calls the CLI makes, no second copy;
* ``downloads``  each mask, the grid and a zip, written atomically;
* ``examples``   the ready examples (a mask to find, its lines, the built-in references, example masks);
* ``catalogue``  which checkpoints the studio may read (the allowed roots) and the loaded models;
* ``uploads``    what an uploaded file must be before it is decoded (in the temp area, an image,
  under the pixel limit);
* ``collections``, ``training``  the Train tab's collections and its one training child process;
* ``jobs``       cancelling long work, per browser session.

Only ``server``, ``layout``, ``picker``, ``ui``, ``endpoints`` and the ``tab_*`` modules import Gradio (an
optional extra, ``maskgen[studio]``).
"""
