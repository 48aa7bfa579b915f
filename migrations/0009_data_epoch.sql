-- The data epoch: a counter in meta that moves inside the transaction of every write to the tables that cached
-- registry reads are built from (models, their tags, versions, their tags, grants, artifact rows). Readers keep
-- such rows in memory only while the epoch they were read under is current (core/access/data-cache.ts), so a
-- warm signing call or registered-models/get needs no statement beyond the workspace epochs. Triggers, not
-- application code, move it: no write path (nor an operator's sqlite3 session) can forget to.
INSERT OR IGNORE INTO meta (key, value) VALUES ('data_epoch', '0');
CREATE TRIGGER data_epoch_registered_models_insert AFTER INSERT ON registered_models BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_registered_models_update AFTER UPDATE ON registered_models BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_registered_models_delete AFTER DELETE ON registered_models BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_tags_insert AFTER INSERT ON model_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_tags_update AFTER UPDATE ON model_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_tags_delete AFTER DELETE ON model_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_versions_insert AFTER INSERT ON model_versions BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_versions_update AFTER UPDATE ON model_versions BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_model_versions_delete AFTER DELETE ON model_versions BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_version_tags_insert AFTER INSERT ON version_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_version_tags_update AFTER UPDATE ON version_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_version_tags_delete AFTER DELETE ON version_tags BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_grants_insert AFTER INSERT ON grants BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_grants_update AFTER UPDATE ON grants BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_grants_delete AFTER DELETE ON grants BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_artifacts_insert AFTER INSERT ON artifacts BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_artifacts_update AFTER UPDATE ON artifacts BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
CREATE TRIGGER data_epoch_artifacts_delete AFTER DELETE ON artifacts BEGIN UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'data_epoch'; END;
