-- Registered models: whether a description was given at all, as 0005 did for model versions (MLflow tells an
-- empty description "" from none: `description: ""` must read back as "", a model created without one has no
-- field). Existing rows keep what they showed: a non-empty description was present, an empty one was left out.
ALTER TABLE registered_models ADD COLUMN has_description INTEGER NOT NULL DEFAULT 0;
UPDATE registered_models SET has_description = 1 WHERE description <> '';
