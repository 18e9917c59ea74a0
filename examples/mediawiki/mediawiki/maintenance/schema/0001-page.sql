CREATE TABLE page (
  page_id INTEGER PRIMARY KEY AUTOINCREMENT,
  page_namespace INTEGER NOT NULL,
  page_title TEXT NOT NULL,
  page_latest INTEGER NOT NULL DEFAULT 0,
  UNIQUE (page_namespace, page_title)
);
