-- One directory of a version, a page at a time: list-artifacts and the DBFS list read only the entries they
-- return (keyset paging on the indexes below), never the whole version.

-- The parent directory of each file ('' for a file at the version root): the path up to its last '/'.
-- rtrim(path, <every character of path but '/'>) drops the last segment and stops at its '/', and the
-- outer rtrim drops that '/' (paths have no empty segments). Generated, so no insert can get it wrong and existing
-- rows need no backfill. VIRTUAL (the only kind ALTER TABLE may add): its value is kept in the index.
ALTER TABLE artifacts ADD COLUMN dir TEXT NOT NULL AS (rtrim(rtrim(path, replace(path, '/', '')), '/')) VIRTUAL;
CREATE INDEX artifacts_dir ON artifacts (storage_id, dir, path);

-- Every directory that holds a file of the version, at any depth, with its parent ('' at the root).
-- Written in the batch that indexes the version's files (managed.ts, insertArtifactStatements), with the
-- same statement as the backfill below.
CREATE TABLE artifact_dirs (
  storage_id TEXT NOT NULL REFERENCES model_versions (storage_id) ON DELETE CASCADE,
  parent TEXT NOT NULL,
  path TEXT NOT NULL,
  PRIMARY KEY (storage_id, path)
);
CREATE INDEX artifact_dirs_parent ON artifact_dirs (storage_id, parent, path);

-- Backfill: the files' directories and all their ancestors.
WITH RECURSIVE up (storage_id, path) AS (
  SELECT DISTINCT storage_id, dir FROM artifacts WHERE dir <> ''
  UNION
  SELECT storage_id, rtrim(rtrim(path, replace(path, '/', '')), '/') FROM up WHERE instr(path, '/') > 0
)
INSERT OR IGNORE INTO artifact_dirs (storage_id, parent, path)
SELECT storage_id, rtrim(rtrim(path, replace(path, '/', '')), '/'), path FROM up;
