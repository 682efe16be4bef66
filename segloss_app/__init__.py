"""Streamlit-side helpers shared by the pages (the library, ``segloss_core``, has no Streamlit).

Contract (pages import only these, never torch):

``segloss_app.common``
    ``page_header(title: str, intro: str) -> bool``: title, one-paragraph intro, presenter-mode CSS
    when ``?present=1`` (returns True in presenter mode), device badge ("GPU"/"CPU") in the sidebar.
    ``url_state(defaults: dict[str, UrlParam]) -> dict``: read ``st.query_params`` for the page's
    keys, validate each with its ``UrlParam`` (type, range or choices), fall back to the default
    with one visible ``st.info`` notice naming the bad parameters; values are also seeded into
    ``st.session_state`` under the same keys so widgets created with ``key=name`` start there.
    ``sync_url(values: dict) -> None``: write the current values back to ``st.query_params``.
    ``loss_param_widgets(key: str, prefix: str, values: dict | None) -> dict``: one slider /
    select per registry ``Param`` (range, log scale, help text), keys ``f"{prefix}{key}.{name}"``.
    ``export_buttons(fig, data: pd.DataFrame | None, name: str, config: dict | None)``: CSV of the
    data behind the figure, PNG (kaleido), interactive HTML, JSON of the configuration.
    ``show_error(exc)``: a clear ``st.error`` line for a ``ValueError`` from the core.

``segloss_app.compute`` (``st.cache_data`` wrappers on plain-value arguments, bounded in entries
    and, for per-pixel results, in bytes) thin cached calls into ``segloss_core``: masks,
    perturbations, one pair's values/gradients, sweeps, the survey, parameter grids, gradient-vs-size.

Hostile input (issue 15):

``segloss_app.plaintext``
    ``plain(text)``: user text (URL values, file names, JSON keys) made inert for Markdown elements.
``segloss_app.validate``
    ``load_json`` (size, depth, number limits before and while parsing), ``read_config``,
    ``read_drawing`` (jsonschema-checked), ``clean_fabric`` (a canvas JSON that fetches nothing).
``segloss_app.limits``
    the cost bound of one request (Tune grid side, survey levels), what is sent to the browser
    (``shrink_for_display``), and ``nbytes`` for the byte-bounded caches.
"""
