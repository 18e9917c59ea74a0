CREATE TABLE revision (
  rev_id INTEGER PRIMARY KEY AUTOINCREMENT,
  rev_page INTEGER NOT NULL REFERENCES page (page_id),
  rev_timestamp TEXT NOT NULL,
  rev_text TEXT NOT NULL
);
CREATE INDEX rev_page_timestamp ON revision (rev_page, rev_timestamp);
