-- Model versions: whether a description was given at all (MLflow tells an empty description "" from none:
-- `description: ""` must read back as "", a version created without one has no field), and the index for
-- model-versions/search's default order (last update time descending, then name, then version).
-- Existing rows keep what they showed: a non-empty description was present, an empty one was left out.
ALTER TABLE model_versions ADD COLUMN has_description INTEGER NOT NULL DEFAULT 0;
UPDATE model_versions SET has_description = 1 WHERE description <> '';
CREATE INDEX model_versions_updated ON model_versions (updated_at);
