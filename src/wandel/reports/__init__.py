"""Reports for people: the report model (:mod:`~wandel.reports.model`) and its builders
(:mod:`~wandel.reports.profile`), hand-made accessible SVG charts (:mod:`~wandel.reports.svg`),
the HTML and PDF/UA renderers (:mod:`~wandel.reports.render`), the PDF/UA check
(:mod:`~wandel.reports.pdfcheck`), exports with source notes (:mod:`~wandel.reports.exports`) and
the matplotlib figures of the services and the comparison (``service_charts``, ``compare_charts``).
See ``README.md`` in this folder."""
