"""Sphinx settings of the course website (README.md): myst-nb renders the executed lectures without running them."""

project = "멀티모달 임베딩 강의"
author = "멀티모달 임베딩 강의"
language = "ko"
extensions = ["myst_nb"]

nb_execution_mode = "off"  # the notebooks come executed from the test run: nothing runs a third time
nb_merge_streams = True
# No ipywidgets JavaScript from a CDN: a progress bar shows as its text, and the site works offline.
nb_ipywidgets_js = {}
myst_heading_anchors = 3
myst_enable_extensions = ["dollarmath", "amsmath"]  # $...$ and $$...$$ as the notebooks write them
# MathJax from this site, not from a CDN (tools/build_site.py copies npm's mathjax into _static/): SVG output, one file.
mathjax_path = "mathjax/tex-svg.js"
suppress_warnings = ["myst.header"]  # a lecture may go from its title (#) straight to a section (###)

exclude_patterns = ["README.md", "_build"]
html_theme = "alabaster"
html_theme_options = {
    "font_family": '"NanumGothic", "Nanum Gothic", sans-serif',
    "head_font_family": '"NanumGothic", "Nanum Gothic", sans-serif',
    "code_font_family": '"DejaVu Sans Mono", monospace',
    "show_relbars": True,
}
html_static_path = ["_static"]
html_css_files = ["course.css"]
html_title = project
html_copy_source = False  # no copy of the notebooks' sources beside the pages
html_show_sourcelink = False
html_search_language = "en"  # Sphinx has no Korean stemmer; words are still found as typed
